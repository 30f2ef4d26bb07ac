#!/usr/bin/env bash
# End-to-end test of the desktop app in a real WebKit window under Xvfb, driven by WebDriver
# (tauri-driver + WebKitWebDriver), against the built-in sandbox cloud:
#   fresh start shows "Try the sandbox" -> click it -> the sandbox profile is active
#   -> `pandrop send big.bin` from another process exits 0 within 2 s, the confirm sheet asks, the 8 MiB file
#   reaches "Uploaded" -> sent again, "Instant" -> `pandrop send a.bin b.bin` (relative paths), "always" ticked,
#   both upload -> `pandrop c.bin` uploads without asking -> the page cannot queue a file nobody dropped or
#   picked -> a HalalCloud account on the sandbox, made with "Sign in with a code" (the code read from the page
#   and approved at the sandbox's admin endpoint), takes a 5 MiB upload the cloud then lists -> screenshots -> a profile's secret is nowhere in the data dir, HOME or the app's output -> the
#   page cannot call ungranted plugin commands, eval, or load a remote script.
#
#   tests/webdriver/run.sh           the app (builds ui/dist and the debug binary when needed)
#   tests/webdriver/run.sh --bare    harness self-check against the bare window of bench/bare-window
#
# Environment: PANDROP_APP=path runs that binary instead of building target/debug/pandrop;
# PANDROP_WD_NO_BUILD=1 skips the builds; PANDROP_WD_TIMEOUT (seconds, default 600) bounds the test.
# Leaves target/webdriver/: pandrop.png (the WebDriver screenshot of the window), screen.png (the whole X
# screen), driver.log (tauri-driver, WebKitWebDriver and the app's output), dbus.log, e2e.log.
set -euo pipefail

if [ -z "${PANDROP_WD_INNER:-}" ]; then
  cd "$(dirname "$0")/../.."
  root=$PWD
  target=${CARGO_TARGET_DIR:-$root/target}
  mode=app
  [ "${1:-}" = --bare ] && mode=bare
  export PATH="$HOME/.cargo/bin:$PATH"

  need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  missing=()
  for pair in Xvfb:xvfb WebKitWebDriver:webkit2gtk-driver dbus-run-session:dbus-x11 \
    gnome-keyring-daemon:gnome-keyring import:imagemagick node:nodejs npm:npm; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ "$mode" = app ] || [ ! -x "$target/bare-window/release/bare-window" ]; then
    pkg-config --exists webkit2gtk-4.1 2>/dev/null || missing+=(libwebkit2gtk-4.1-dev libsoup-3.0-dev
      libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev pkg-config)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    need_root apt-get update -qq
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "installing tauri-driver (cargo install tauri-driver --locked)"
    cargo install tauri-driver --locked
  fi

  if [ "$mode" = bare ]; then
    app=$root/target/bare-window/release/bare-window
    [ -n "${PANDROP_WD_NO_BUILD:-}" ] ||
      CARGO_TARGET_DIR=$root/target/bare-window cargo build --release -q --manifest-path bench/bare-window/Cargo.toml \
        --features tauri/custom-protocol
  else
    app=${PANDROP_APP:-$target/debug/pandrop}
    if [ -z "${PANDROP_WD_NO_BUILD:-}" ] && [ -z "${PANDROP_APP:-}" ]; then
      # The shell embeds ui/dist at compile time: build the UI first when it is missing or older than its sources.
      if [ ! -f ui/dist/index.html ] ||
        [ -n "$(find ui/src ui/index.html ui/package.json ui/vite.config.* -newer ui/dist/index.html 2>/dev/null | head -1)" ]; then
        echo "building ui/dist"
        (cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)
      fi
      # Without tauri's custom-protocol feature (which `tauri build` turns on) the app loads devUrl (the Vite
      # dev server) instead of the ui/dist it embeds.
      echo "building the app (cargo build -p pandrop --features custom-protocol)"
      cargo build -q -p pandrop --features custom-protocol
    fi
  fi
  [ -x "$app" ] || { echo "FAILED: no app binary at $app"; exit 1; }

  out=$root/target/webdriver
  mkdir -p "$out"
  rm -f "$out"/*.png "$out"/*.log
  work=$(mktemp -d /tmp/pandrop-webdriver.XXXXXX)
  xvfb_pid=
  cleanup() {
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
    rm -rf "$work"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  # Xvfb picks a free display and writes its number to fd 3.
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$work/display" 2>"$out/xvfb.log" &
  xvfb_pid=$!
  for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
  [ -s "$work/display" ] || { echo "FAILED: Xvfb did not start: $(tail -3 "$out/xvfb.log")"; exit 1; }
  export DISPLAY=":$(head -1 "$work/display")"
  echo "Xvfb on $DISPLAY"

  # Everything else runs inside a private D-Bus session (single instance and the keyring use it).
  status=0
  PANDROP_WD_INNER=1 WD_MODE=$mode WD_APP=$app WD_OUT=$out WD_WORK=$work WD_ROOT=$root \
    dbus-run-session -- "$0" 3>&2 2>"$out/dbus.log" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "PASSED ($mode): screenshots in $out"
  else
    echo "FAILED ($mode, exit $status): see $out/e2e.log and $out/driver.log"
  fi
  exit "$status"
fi

# ---- inside dbus-run-session ----
exec 2>&3 3>&-  # the D-Bus daemon's chatter (and that of the services it starts) stays in dbus.log
export HOME=$WD_WORK/home XDG_CONFIG_HOME=$WD_WORK/home/.config XDG_DATA_HOME=$WD_WORK/home/.local/share
export XDG_CACHE_HOME=$WD_WORK/home/.cache PANDROP_DATA_DIR=$WD_WORK/data
export LANG=C.UTF-8 LANGUAGE=en
unset LC_ALL
mkdir -p "$XDG_DATA_HOME/keyrings" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$PANDROP_DATA_DIR"
# A fresh login keyring, created and unlocked with this password, served on this session bus.
printf 'pandrop-webdriver-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
native_port=$(free_port)
driver_pid=
cleanup_inner() {
  if [ -n "$driver_pid" ]; then  # tauri-driver, WebKitWebDriver and the app share this process group
    kill -- -"$driver_pid" 2>/dev/null || true
    sleep 0.5
    kill -9 -- -"$driver_pid" 2>/dev/null || true
  fi
}
trap cleanup_inner EXIT
trap 'exit 130' INT TERM
setsid tauri-driver --port "$port" --native-port "$native_port" >"$WD_OUT/driver.log" 2>&1 &
driver_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "FAILED: tauri-driver is not listening: $(tail -5 "$WD_OUT/driver.log")"; exit 1; }

args=()
[ "$WD_MODE" = bare ] && args+=(--bare)
set +e
WEBDRIVER_URL=http://127.0.0.1:$port APP=$WD_APP OUT_DIR=$WD_OUT WORK_DIR=$WD_WORK/files \
  GREP_DIRS="$PANDROP_DATA_DIR:$HOME:$WD_OUT/driver.log" GREP_SKIP="$XDG_DATA_HOME/keyrings" \
  timeout "${PANDROP_WD_TIMEOUT:-600}" node "$WD_ROOT/tests/webdriver/e2e.mjs" "${args[@]}" 2>&1 |
  tee "$WD_OUT/e2e.log"
status=${PIPESTATUS[0]}
set -e
[ "$status" -ne 124 ] || echo "FAILED: the test took longer than ${PANDROP_WD_TIMEOUT:-600} s"
exit "$status"
