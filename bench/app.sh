#!/usr/bin/env bash
# The desktop app beside a bare Tauri v2 window (bench/bare-window: an empty page, no plugins, the app's
# tauri version, features and window size), both release builds, measured the same way in the same run
# under Xvfb inside a private D-Bus session with an unlocked keyring:
#   - cold start to first paint: from fork() to the first frame in which the window shows more than one
#     colour (bench/bare-window/firstpaint.c polls the window's pixels every 4 ms), page cache dropped
#     before each start when this user may (root), else warm (the table says which);
#   - memory: total PSS (/proc/PID/smaps_rollup) of the app's process tree (main + WebKitNetworkProcess +
#     WebKitWebProcess) 6 s after start, idle; for the app also with N queued (paused) rows in its store;
#   - the size of the release binaries.
# Runs alternate bare / app / app with rows, after one uncounted warm-up of each; medians are quoted.
#   bench/app.sh [RUNS] [ROWS]      defaults: 5 runs, 10000 rows
# BENCH_NO_BUILD=1 skips the builds (ui/dist, pandrop, pandrop-cli, the bare window); BENCH_APP=path measures
# another binary as the app; BENCH_CACHE=warm keeps the page cache (default: cold where it can be dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-5}
rows=${2:-10000}
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-$root/target}
app=${BENCH_APP:-$target/release/pandrop}
cli=$target/release/pandrop-cli
bare=$root/target/bare-window/release/bare-window
firstpaint=$root/target/bench-app/firstpaint

if [ -z "${BENCH_APP_INNER:-}" ]; then
  for c in Xvfb dbus-run-session gnome-keyring-daemon cc pkg-config; do
    command -v "$c" >/dev/null || { echo "needs $c: run tests/webdriver/run.sh once, or apt-get install xvfb dbus-x11 gnome-keyring build-essential pkg-config"; exit 2; }
  done
  if [ -z "${BENCH_NO_BUILD:-}" ]; then
    echo "building (release): ui/dist, pandrop, pandrop-cli, the bare window, firstpaint"
    (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build) >/dev/null
    # tauri's custom-protocol feature (which `tauri build` turns on) makes both serve the pages they embed;
    # without it they would load the devUrl.
    cargo build --release -q -p pandrop --features custom-protocol
    cargo build --release -q -p pandrop-cli
    CARGO_TARGET_DIR=$root/target/bare-window cargo build --release -q --manifest-path bench/bare-window/Cargo.toml \
      --features tauri/custom-protocol
  fi
  mkdir -p "$(dirname "$firstpaint")"
  cc -O2 -o "$firstpaint" bench/bare-window/firstpaint.c -lX11
  for b in "$app" "$cli" "$bare"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done

  work=$(mktemp -d /tmp/pandrop-bench-app.XXXXXX)
  xvfb_pid=
  trap '[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null; rm -rf "$work"' EXIT
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
  xvfb_pid=$!
  for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
  [ -s "$work/display" ] || { echo "Xvfb did not start: $(tail -3 "$work/xvfb.log")"; exit 1; }
  export DISPLAY=":$(head -1 "$work/display")"
  status=0
  BENCH_APP_INNER=1 BENCH_WORK=$work dbus-run-session -- "$0" "$@" 3>&2 2>"$(dirname "$firstpaint")/dbus.log" || status=$?
  exit "$status"
fi

# ---- inside dbus-run-session ----
exec 2>&3 3>&-  # the D-Bus daemon's chatter (and that of the services it starts) goes to target/bench-app/dbus.log
work=$BENCH_WORK
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
export XDG_CACHE_HOME=$work/home/.cache LANG=C.UTF-8 LANGUAGE=en
unset LC_ALL
mkdir -p "$XDG_DATA_HOME/keyrings" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
printf 'pandrop-bench-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

if [ "${BENCH_CACHE:-cold}" = cold ] && (sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
  cache=cold
  drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
else
  cache=warm
  drop() { :; }
fi

# The store with N queued rows: a folder of N small files added by the CLI to the store the app opens
# (PANDROP_DATA_DIR), then paused so that nothing runs while the app idles.
mkdir -p "$work/data-idle" "$work/data-rows" "$work/rows"
for i in $(seq "$rows"); do echo "row $i" >"$work/rows/f$i.txt"; done
"$cli" queue --data-dir "$work/data-rows" add --sandbox --to /bench "$work/rows" >/dev/null
"$cli" queue --data-dir "$work/data-rows" pause --all >/dev/null
# The CLI's store is <dir>/queue.db, the app's <dir>/pandrop.db (src-tauri/src/state.rs): same schema.
for f in "$work/data-rows"/queue.db*; do mv "$f" "$work/data-rows/pandrop.db${f#"$work/data-rows/queue.db"}"; done
n=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from tasks").fetchone()[0])' \
  "$work/data-rows/pandrop.db")
[ "$n" -eq "$rows" ] || { echo "the prepared store holds $n tasks, not $rows"; exit 1; }

# descendants PID: PID and all its descendants, one "pid name" a line.
descendants() {
  ps -e -o pid=,ppid=,comm= | awk -v root="$1" '
    { name[$1] = $3; kids[$2] = kids[$2] " " $1 }
    END {
      todo[1] = root; n = 1
      while (n > 0) {
        p = todo[n--]; print p, name[p]
        k = split(kids[p], ks, " "); for (i = 1; i <= k; i++) todo[++n] = ks[i]
      }
    }'
}
# pss PID: "total main network web other" in KiB for the process tree of PID.
pss() {
  local total=0 main=0 net=0 web=0 other=0 p name kib
  while read -r p name; do
    kib=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    [ -n "$kib" ] || continue
    total=$((total + kib))
    if [ "$p" = "$1" ]; then main=$((main + kib))
    elif [[ $name == WebKitNetworkPr* ]]; then net=$((net + kib))
    elif [[ $name == WebKitWebProces* ]]; then web=$((web + kib))
    else other=$((other + kib)); fi
  done < <(descendants "$1")
  echo "$total $main $net $web $other"
}
stop_tree() {  # stop_tree PID: the process group first, then anything of the tree left over
  local left
  left=$(descendants "$1" | awk '{print $1}')
  kill -TERM -- -"$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$1" 2>/dev/null || true
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null || true
  sleep 0.5
}

# measure LABEL BIN DATA_DIR COUNTED: one start; appends "first_paint_ms total main net web other" to LABEL.
measure() {
  local label=$1 bin=$2 data=$3 counted=$4 line fp mapped pid
  drop
  if ! line=$(PANDROP_DATA_DIR=$data "$firstpaint" -t 60 -o "$work/$label.ppm" "$bin" 2>"$work/$label.err"); then
    echo "$label: no first paint: $(cat "$work/$label.err")"
    exit 1
  fi
  fp=$(sed -E 's/.*first_paint_ms=([0-9.]+).*/\1/' <<<"$line")
  mapped=$(sed -E 's/.*mapped_ms=([0-9.-]+).*/\1/' <<<"$line")
  pid=$(sed -E 's/.*pid=([0-9]+).*/\1/' <<<"$line")
  sleep "$(awk -v fp="$fp" 'BEGIN {s = (6000 - fp) / 1000; print (s > 0 ? s : 0)}')"
  local m
  m=$(pss "$pid")
  stop_tree "$pid"
  printf '  %-9s %s  window %6.1f ms, first paint %7.1f ms  PSS %s MiB\n' "$label" \
    "$([ "$counted" = 1 ] && echo "   " || echo "(w)")" "$mapped" "$fp" "$(awk '{printf "%.1f (main %.1f, network %.1f, web %.1f, other %.1f)", $1/1024, $2/1024, $3/1024, $4/1024, $5/1024}' <<<"$m")"
  [ "$counted" = 1 ] && echo "$fp $m $mapped" >>"$work/$label.runs"
  return 0
}

echo "display $DISPLAY, page cache $cache, $runs runs after one warm-up, $rows rows; (w) = warm-up, not counted"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for i in $(seq 0 "$runs"); do
  counted=$([ "$i" -gt 0 ] && echo 1 || echo 0)
  measure bare "$bare" "$work/data-bare" "$counted"
  measure app "$app" "$work/data-idle" "$counted"
  measure app-rows "$app" "$work/data-rows" "$counted"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1.runs" | median; }
fp_bare=$(col bare 1); fp_app=$(col app 1); fp_rows=$(col app-rows 1)
m_bare=$(col bare 2); m_app=$(col app 2); m_rows=$(col app-rows 2)
size_app=$(stat -c %s "$app"); size_bare=$(stat -c %s "$bare")
mib() { awk -v k="$1" -v d="$2" 'BEGIN {printf "%.1f", k / d}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v < t || v == t) ? "ok" : "OVER"}'; }

echo
echo "| measure ($cache page cache, median of $runs) | bare window | PanDrop | ratio | target |"
echo "|---|---|---|---|---|"
echo "| start to first paint | $(mib "$fp_bare" 1000) s | $(mib "$fp_app" 1000) s | $(ratio "$fp_app" "$fp_bare") | < 1.5 s: $(verdict "$(mib "$fp_app" 1000)" 1.5) |"
echo "| start to first paint, $rows rows | | $(mib "$fp_rows" 1000) s | $(ratio "$fp_rows" "$fp_bare") | < 1.5 s: $(verdict "$(mib "$fp_rows" 1000)" 1.5) |"
echo "| PSS idle, 6 s after start | $(mib "$m_bare" 1024) MiB | $(mib "$m_app" 1024) MiB | $(ratio "$m_app" "$m_bare") | ≤ 1.25×: $(verdict "$(ratio "$m_app" "$m_bare")" 1.25) |"
echo "| PSS with $rows queued rows | | $(mib "$m_rows" 1024) MiB | $(ratio "$m_rows" "$m_bare") | ≤ 1.5×: $(verdict "$(ratio "$m_rows" "$m_bare")" 1.5) |"
echo "| release binary | $(mib "$size_bare" 1048576) MiB | $(mib "$size_app" 1048576) MiB | $(ratio "$size_app" "$size_bare") | < 25 MiB: $(verdict "$(mib "$size_app" 1048576)" 25) |"
echo
for l in bare app app-rows; do
  echo "$l: PSS medians (MiB) main $(mib "$(col "$l" 3)" 1024), network $(mib "$(col "$l" 4)" 1024), web $(mib "$(col "$l" 5)" 1024), other $(mib "$(col "$l" 6)" 1024); window shown $(col "$l" 7) ms (median); first paints (ms): $(awk '{printf "%s ", $1}' "$work/$l.runs")"
  convert "$work/$l.ppm" "$(dirname "$firstpaint")/first-frame-$l.png" 2>/dev/null || true
done
echo "the first painted frames of the last runs: $(dirname "$firstpaint")/first-frame-{bare,app,app-rows}.png"
