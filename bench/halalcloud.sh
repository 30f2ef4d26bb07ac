#!/usr/bin/env bash
# HalalCloud: what its uploads cost, against `sha256sum` over the same file in the same run.
#   bench/halalcloud.sh [SIZE_MIB] [RUNS]
#   (a) hashing: the engine's one read pass computing what a HalalCloud upload needs (the SHA-256 of every
#       4 MiB block, for the block CIDs), page cache warm;
#   (b) upload: `pandrop-cli upload --provider halalcloud` of the file to the sandbox cloud on loopback (new
#       bytes each run, so no block is held already), a fresh sandbox each run.
# Ratios of median wall times; peak RSS from GNU time. Binaries are taken from CARGO_TARGET_DIR when set.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-5}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }

cargo build --release -q -p pandrop-cli -p pandrop-fakecloud
cargo build --release -q -p pandrop-engine --example hash_file
target_dir=${CARGO_TARGET_DIR:-target}
cli=$target_dir/release/pandrop-cli
cloud=$target_dir/release/pandrop-fakecloud
hasher=$target_dir/release/examples/hash_file
work=$(mktemp -d)
trap 'kill "${cloud_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
file="$work/payload.bin"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
export PANDROP_CLIENT_ID=demo PANDROP_CLIENT_SECRET=demo-secret

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# wall NAME CMD...: runs CMD, appends its wall seconds to NAME.times and its peak RSS (KiB) to NAME.peaks.
wall() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/$name.res" "$@" >"$work/$name.out"
  if [ "$counted" = 1 ]; then
    cut -d' ' -f1 "$work/$name.res" >>"$work/$name.times"
    cut -d' ' -f2 "$work/$name.res" >>"$work/$name.peaks"
  fi
}
report() {
  local name=$1 ref=$2
  local a b
  a=$(median <"$work/$name.times"); b=$(median <"$work/$ref.times")
  echo "$name: median ${a}s, ${ref} ${b}s, ratio $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}'), peak RSS $(( $(sort -n "$work/$name.peaks" | tail -1) / 1024 )) MiB"
}

echo "== (a) hashing ${size_mib} MiB: block SHA-256s (4 MiB) against sha256sum"
for i in $(seq 0 "$runs"); do
  counted=$([ "$i" -gt 0 ] && echo 1 || echo 0)
  cat "$file" >/dev/null
  wall sha256sum sha256sum "$file"
  wall blocks "$hasher" --no-md5 --no-etag --block-sha256 4194304 "$file"
done
[ "$(grep -c '^block ' "$work/blocks.out")" -eq $(( (size_mib + 3) / 4 )) ] || { echo "wrong block count"; exit 1; }
report blocks sha256sum

echo "== (b) upload ${size_mib} MiB to the sandbox's HalalCloud on loopback, against sha256sum"
rm -f "$work"/sha256sum.times "$work"/sha256sum.peaks
for i in $(seq 0 "$runs"); do
  counted=$([ "$i" -gt 0 ] && echo 1 || echo 0)
  printf '%08d' "$i" | dd of="$file" bs=8 count=1 conv=notrunc status=none
  rm -rf "$work/cloud" "$work/data"
  "$cloud" --addr 127.0.0.1:0 --data "$work/cloud" >"$work/cloud.out" 2>"$work/cloud.err" &
  cloud_pid=$!
  for _ in $(seq 300); do grep -q listening "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
  url=$(awk '/^listening/ {print $2; exit}' "$work/cloud.out")
  cat "$file" >/dev/null
  wall sha256sum sha256sum "$file"
  wall upload "$cli" upload --provider halalcloud --endpoint "$url/halalcloud" --data-dir "$work/data" --json --to /bench "$file"
  grep -q '"status":"uploaded"' "$work/upload.out" || { echo "upload failed: $(cat "$work/upload.out")"; exit 1; }
  kill "$cloud_pid"; wait "$cloud_pid" 2>/dev/null || true
done
report upload sha256sum
