#!/usr/bin/env bash
# 123pan as the service runs today: request pacing and the shared access token, against the sandbox server
# with the service's per-endpoint limits switched on (create 2/s, mkdir 2/s, list 3/s).
#   bench/pacing.sh [RUNS] [SMALL_FILES] [PARTS]     PARTS: any of a, b, c (default abc)
#   (a) 40 files of 2 MiB in 8 folders, `upload --jobs 4`: median wall time against the 20 s floor that
#       40 creates at 2/s allow, and the creates answered "too frequent" (code 429), over RUNS runs;
#   (b) SMALL_FILES (default 1000) files of 64 KiB, once through the single-step upload (the default) and once
#       through create (`--single-step-max 0`): wall time and requests per file;
#   (c) access tokens asked for by five runs in a row, with the token kept in a file and with it kept nowhere.
# Binaries are taken from CARGO_TARGET_DIR when it is set. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
small=${2:-1000}
parts=${3:-abc}
command -v jq >/dev/null || { echo "needs jq (apt-get install jq)"; exit 2; }

cargo build --release -q -p pandrop-cli -p pandrop-fakecloud
target_dir=${CARGO_TARGET_DIR:-target}
cli=$target_dir/release/pandrop-cli
cloud=$target_dir/release/pandrop-fakecloud
work=$(mktemp -d)
trap 'kill "${cloud_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export PANDROP_CLIENT_ID=demo PANDROP_CLIENT_SECRET=demo-secret

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# A fresh sandbox with the service's limits; sets $url.
start_cloud() {
  kill "${cloud_pid:-}" 2>/dev/null || true
  wait "${cloud_pid:-}" 2>/dev/null || true
  rm -rf "$work/cloud" "$work/data"
  "$cloud" --addr 127.0.0.1:0 --data "$work/cloud" \
    --qps 123pan/create=2 --qps 123pan/mkdir=2 --qps 123pan/list=3 >"$work/cloud.out" 2>"$work/cloud.err" &
  cloud_pid=$!
  for _ in $(seq 300); do grep -q listening "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
  url=$(awk '/^listening/ {print $2; exit}' "$work/cloud.out")
  [ -n "$url" ] || { echo "the sandbox did not start: $(cat "$work/cloud.err")"; exit 1; }
}
stat_of() { curl -s "$url/_admin/stats" | jq -r "$1"; }
upload() { "$cli" upload --endpoint "$url/123pan" --data-dir "$work/data" --json "$@" >"$work/up.json"; }

if [[ $parts == *a* ]]; then
echo "== (a) 40 files of 2 MiB in 8 folders, --jobs 4, create limited to 2/s"
walls=() ; refused=()
for i in $(seq 1 "$runs"); do
  rm -rf "$work/a"
  for f in $(seq 0 39); do
    mkdir -p "$work/a/d$((f % 8))"
    head -c $((2 * 1024 * 1024)) /dev/urandom >"$work/a/d$((f % 8))/f$f.bin"
  done
  start_cloud
  t0=$(now)
  upload --token-cache none --jobs 4 --to "/a$i" "$work/a" 2>/dev/null
  t1=$(now)
  [ "$(grep -c '"status":"uploaded"' "$work/up.json")" -eq 40 ] || { echo "run $i: not every file uploaded"; exit 1; }
  walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
  refused+=("$(stat_of '.throttled["123pan/create"] // 0')")
  echo "run $i: ${walls[-1]} s, creates answered 429: ${refused[-1]} (mkdir: $(stat_of '.throttled["123pan/mkdir"] // 0'), list: $(stat_of '.throttled["123pan/list"] // 0'))"
done
wall=$(printf '%s\n' "${walls[@]}" | median)
echo "median wall: ${wall} s = $(awk -v w="$wall" 'BEGIN {printf "%.2f", w / 20}')x the 20 s floor; creates answered 429: [${refused[*]}] of 40 each"

fi

if [[ $parts == *b* ]]; then
echo "== (b) $small files of 64 KiB, create limited to 2/s"
rm -rf "$work/b"
mkdir -p "$work/b"
for f in $(seq 1 "$small"); do head -c 65536 /dev/urandom >"$work/b/s$f.bin"; done
for mode in single-step create; do
  start_cloud
  extra=()
  [ "$mode" = create ] && extra=(--single-step-max 0)
  t0=$(now)
  upload --token-cache none --jobs 4 "${extra[@]}" --to /b "$work/b" 2>/dev/null
  t1=$(now)
  [ "$(grep -c '"status":"uploaded"' "$work/up.json")" -eq "$small" ] || { echo "$mode: not every file uploaded"; exit 1; }
  requests=$(stat_of '[.routes[].requests] | add')
  echo "$mode: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s, $(awk -v r="$requests" -v n="$small" 'BEGIN {printf "%.2f", r / n}') requests per file ($(stat_of '.routes | to_entries | map("\(.key | sub("123pan/"; "")) \(.value.requests)") | join(", ")'); answered 429: $(stat_of '[.throttled[]] | add // 0'))"
done

fi

if [[ $parts == *c* ]]; then
echo "== (c) access tokens asked for by five runs in a row"
head -c 1024 /dev/urandom >"$work/one.bin"
for cache in file none; do
  start_cloud
  for i in 1 2 3 4 5; do
    printf '%08d' "$i" | dd of="$work/one.bin" bs=8 count=1 conv=notrunc status=none
    upload --token-cache "$cache" --to "/c$i" "$work/one.bin" 2>/dev/null
  done
  echo "--token-cache $cache: $(stat_of '.routes["123pan/access_token"].requests') token(s)"
done
fi
