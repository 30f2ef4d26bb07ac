#!/usr/bin/env bash
# Upload throughput: a 1 GiB file (not instant) sent by `pandrop-cli upload` to the sandbox cloud on
# loopback, compared with `md5sum` over the same file in the same run, as a ratio of median wall times.
#   bench/upload.sh [SIZE_MIB] [RUNS]
# Each run changes the file's first bytes so the cloud cannot reuse an earlier upload, and starts a fresh
# sandbox so its disk does not fill up. Peak RSS is the client's, from GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-5}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }

cargo build --release -q -p pandrop-cli -p pandrop-fakecloud
cli=target/release/pandrop-cli
cloud=target/release/pandrop-fakecloud
work=$(mktemp -d)
trap 'kill "${cloud_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

file="$work/payload.bin"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
export PANDROP_CLIENT_ID=demo PANDROP_CLIENT_SECRET=demo-secret

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

up_times=() ; md5_times=() ; rss=()
for i in $(seq 0 "$runs"); do
  printf '%08d' "$i" | dd of="$file" bs=8 count=1 conv=notrunc status=none
  rm -rf "$work/cloud"
  "$cloud" --addr 127.0.0.1:0 --data "$work/cloud" >"$work/cloud.out" 2>"$work/cloud.err" &
  cloud_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
  url=$(awk '/^listening/ {print $2; exit}' "$work/cloud.out")

  cat "$file" >/dev/null  # warm the page cache for both contenders
  /usr/bin/time -f '%e %M' -o "$work/md5.time" md5sum "$file" >/dev/null
  /usr/bin/time -f '%e %M' -o "$work/up.time" "$cli" upload --endpoint "$url/123pan" --to /bench --json "$file" >"$work/up.json"
  grep -q '"status":"uploaded"' "$work/up.json" || { echo "upload failed: $(cat "$work/up.json")"; exit 1; }
  kill "$cloud_pid"; wait "$cloud_pid" 2>/dev/null || true

  if [ "$i" -gt 0 ]; then  # run 0 is a warm-up
    md5_times+=("$(cut -d' ' -f1 "$work/md5.time")")
    up_times+=("$(cut -d' ' -f1 "$work/up.time")")
    rss+=("$(cut -d' ' -f2 "$work/up.time")")
  fi
done

up=$(printf '%s\n' "${up_times[@]}" | median)
md5=$(printf '%s\n' "${md5_times[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
echo "file: ${size_mib} MiB, runs: $runs (after one warm-up)"
echo "md5sum median wall: ${md5}s   [${md5_times[*]}]"
echo "upload median wall: ${up}s   [${up_times[*]}]"
echo "ratio upload/md5sum: $(awk -v a="$up" -v b="$md5" 'BEGIN {printf "%.2f", a/b}')"
echo "client peak RSS: $((peak / 1024)) MiB"
