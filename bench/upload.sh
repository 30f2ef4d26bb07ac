#!/usr/bin/env bash
# Upload throughput: a 1 GiB file (not instant) sent by `pandrop-cli upload` to the sandbox cloud on
# loopback, compared with `md5sum` over the same file in the same run, as a ratio of median wall times.
#   bench/upload.sh [SIZE_MIB] [RUNS]
# Each run changes the file's first bytes so the cloud cannot reuse an earlier upload, and starts a fresh
# sandbox so its disk does not fill up. Peak RSS: the client's from GNU time, the server's from its VmHWM.
# Also reported: the CPU seconds of the client and of the sandbox server per upload, and the CPU seconds
# other processes used during each upload (the noise: the ratio means something only when that is close
# to zero). Binaries are taken from CARGO_TARGET_DIR when it is set; BENCH_CLOUD=PATH runs another build of
# the sandbox server (to compare two versions of it with the same client).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-5}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }

cargo build --release -q -p pandrop-cli -p pandrop-fakecloud
target_dir=${CARGO_TARGET_DIR:-target}
cli=$target_dir/release/pandrop-cli
cloud=${BENCH_CLOUD:-$target_dir/release/pandrop-fakecloud}
work=$(mktemp -d)
trap 'kill "${cloud_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

file="$work/payload.bin"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
export PANDROP_CLIENT_ID=demo PANDROP_CLIENT_SECRET=demo-secret

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
hz=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# User + system CPU jiffies of process $1 so far (fields 14 and 15 of its stat, after the command name).
proc_jiffies() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

up_times=() ; md5_times=() ; rss=() ; server_rss=() ; client_cpu=() ; server_cpu=() ; others=()
for i in $(seq 0 "$runs"); do
  printf '%08d' "$i" | dd of="$file" bs=8 count=1 conv=notrunc status=none
  rm -rf "$work/cloud"
  "$cloud" --addr 127.0.0.1:0 --data "$work/cloud" >"$work/cloud.out" 2>"$work/cloud.err" &
  cloud_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
  url=$(awk '/^listening/ {print $2; exit}' "$work/cloud.out")

  cat "$file" >/dev/null  # warm the page cache for both contenders
  /usr/bin/time -f '%e %M' -o "$work/md5.time" md5sum "$file" >/dev/null
  busy0=$(busy_jiffies) ; server0=$(proc_jiffies "$cloud_pid")
  /usr/bin/time -f '%e %M %U %S' -o "$work/up.time" "$cli" upload --endpoint "$url/123pan" --to /bench --json "$file" >"$work/up.json"
  busy1=$(busy_jiffies) ; server1=$(proc_jiffies "$cloud_pid")
  server_hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$cloud_pid/status")
  grep -q '"status":"uploaded"' "$work/up.json" || { echo "upload failed: $(cat "$work/up.json")"; exit 1; }
  kill "$cloud_pid"; wait "$cloud_pid" 2>/dev/null || true

  if [ "$i" -gt 0 ]; then  # run 0 is a warm-up
    md5_times+=("$(cut -d' ' -f1 "$work/md5.time")")
    up_times+=("$(cut -d' ' -f1 "$work/up.time")")
    rss+=("$(cut -d' ' -f2 "$work/up.time")")
    server_rss+=("$server_hwm")
    read -r _ _ user sys <"$work/up.time"
    server=$(awk -v j=$((server1 - server0)) -v hz="$hz" 'BEGIN {printf "%.2f", j / hz}')
    client_cpu+=("$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')")
    server_cpu+=("$server")
    others+=("$(awk -v b=$((busy1 - busy0)) -v hz="$hz" -v u="$user" -v s="$sys" -v v="$server" \
      'BEGIN {o = b / hz - u - s - v; printf "%.2f", (o > 0 ? o : 0)}')")
  fi
done

up=$(printf '%s\n' "${up_times[@]}" | median)
md5=$(printf '%s\n' "${md5_times[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
server_peak=$(printf '%s\n' "${server_rss[@]}" | sort -n | tail -1)
echo "file: ${size_mib} MiB, runs: $runs (after one warm-up)"
echo "md5sum median wall: ${md5}s   [${md5_times[*]}]"
echo "upload median wall: ${up}s   [${up_times[*]}]"
echo "ratio upload/md5sum: $(awk -v a="$up" -v b="$md5" 'BEGIN {printf "%.2f", a/b}')"
echo "client peak RSS: $((peak / 1024)) MiB   server peak RSS: $((server_peak / 1024)) MiB"
echo "CPU per upload, median: client $(printf '%s\n' "${client_cpu[@]}" | median)s, server $(printf '%s\n' "${server_cpu[@]}" | median)s"
noise=$(printf '%s\n' "${others[@]}" | sort -n | tail -1)
echo "CPU used by other processes during an upload: at most ${noise}s   [${others[*]}]"
awk -v n="$noise" 'BEGIN {exit !(n > 0.5)}' &&
  echo "warning: other processes were busy during the runs: rerun on an idle machine" >&2
true
