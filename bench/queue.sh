#!/usr/bin/env bash
# Queue throughput against the sandbox cloud on loopback:
#   1. N small files added to the durable queue (one `queue add` of a folder), then listed: wall time, peak RSS;
#   2. M instant hits processed by `queue run` (files the cloud already holds, matched by etag): files per second.
#   bench/queue.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
m=${2:-1000}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }

cargo build --release -q -p pandrop-cli -p pandrop-fakecloud
cli=$PWD/target/release/pandrop-cli
work=$(mktemp -d)
trap 'kill "${cloud_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/pandrop-fakecloud --addr 127.0.0.1:0 --data "$work/cloud" >"$work/cloud.out" 2>"$work/cloud.err" &
cloud_pid=$!
for _ in $(seq 50); do grep -q listening "$work/cloud.out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '/^listening/ {print $2; exit}' "$work/cloud.out")
export PANDROP_CLIENT_ID=demo PANDROP_CLIENT_SECRET=demo-secret

timed() {  # timed LABEL CMD...: runs CMD, prints wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >"$work/out" 2>"$work/err" || { echo "$label failed: $(tail -3 "$work/err")"; exit 1; }
  read -r wall rss <"$work/t"
  printf '%-34s %8.2f s   peak RSS %6d MiB\n' "$label" "$wall" "$((rss / 1024))"
}

mkdir -p "$work/small"
for i in $(seq "$n"); do echo "small file $i" >"$work/small/f$i.txt"; done
timed "queue add ($n files)" "$cli" queue --data-dir "$work/q" add --endpoint "$url/123pan" --to /bench "$work/small"
timed "queue list ($n tasks)" "$cli" queue --data-dir "$work/q" list
[ "$(wc -l <"$work/out")" -ge "$n" ] || { echo "list shows fewer than $n tasks"; exit 1; }
timed "queue list --json ($n tasks)" "$cli" queue --data-dir "$work/q" list --json

# Instant hits: 6pan finds a file by its etag. Seed the cloud, then queue the same bytes under another folder.
token=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"value\":\"demo\",\"password\":\"$(printf demo-secret | md5sum | cut -d' ' -f1)\"}" "$url/6pan/v2/user/login" |
  awk -F': ' 'tolower($1)=="qingzhen-token" {gsub("\r",""); print $2}')
export PANDROP_6PAN_TOKEN=$token
mkdir -p "$work/seed" "$work/copy"
for i in $(seq "$m"); do head -c 4096 /dev/urandom >"$work/seed/s$i.bin"; cp "$work/seed/s$i.bin" "$work/copy/s$i.bin"; done
"$cli" queue --data-dir "$work/i" add --provider 6pan-v2 --endpoint "$url/6pan" --to /seed "$work/seed" >/dev/null
"$cli" queue --data-dir "$work/i" run --jobs 4 >/dev/null
"$cli" queue --data-dir "$work/i" add --provider 6pan-v2 --endpoint "$url/6pan" --to /copy "$work/copy" >/dev/null
timed "queue run ($m instant hits)" "$cli" queue --data-dir "$work/i" run --jobs 4
instant=$(grep -c instant "$work/out" || true)
[ "$instant" -eq "$m" ] || { echo "expected $m instant hits, saw $instant"; exit 1; }
read -r wall _ <"$work/t"
echo "instant hits per second: $(awk -v m="$m" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')"
