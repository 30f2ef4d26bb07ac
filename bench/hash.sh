#!/usr/bin/env bash
# One-pass hashing speed: hashing a 1 GiB file (MD5 + etag, then MD5 + etag + 16 MiB slice MD5s) compared
# with `md5sum` over the same file, page cache warm, as ratios of median wall times, with peak RSS.
#   bench/hash.sh [SIZE_MIB] [RUNS]
# Each run times the three contenders back to back (md5sum first), after one warm-up run that is not
# counted. The target is hash/md5sum <= 1.10 with peak RSS <= 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

# The command under test: it gets the file path as its last argument and must print the MD5 somewhere in
# its output. The engine's example (HASH_CMD=target/release/examples/hash_file, built with
# `cargo build --release -p pandrop-engine --example hash_file`, flag `--slices N`) measures the library alone.
HASH_BUILD=${HASH_BUILD:-"cargo build --release -q -p pandrop-cli"}
HASH_CMD=${HASH_CMD:-"target/release/pandrop-cli hash"}
# How the command is asked for per-slice MD5s of SLICE_SIZE bytes.
SLICE_SIZE=${SLICE_SIZE:-16777216}
SLICE_FLAG=${SLICE_FLAG:-"--json --slice-size $SLICE_SIZE"}

size_mib=${1:-1024}
runs=${2:-5}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 2; }

$HASH_BUILD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file="$work/payload.bin"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$file"
expected=$(md5sum "$file" | cut -d' ' -f1)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
hz=$(getconf CLK_TCK)

# timed NAME CMD...: runs CMD on the file and appends to the NAME lists its wall seconds, its peak RSS (KiB)
# and the CPU seconds that other processes used meanwhile (the noise in that run).
timed() {
  local name=$1; shift
  local start end busy0 busy1
  busy0=$(busy_jiffies)
  start=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$work/$name.res" "$@" "$file" >"$work/$name.out"
  end=$(date +%s%N)
  busy1=$(busy_jiffies)
  grep -q "$expected" "$work/$name.out" || { echo "$name printed a wrong MD5: $(cat "$work/$name.out")"; exit 1; }
  if [ "$counted" = 1 ]; then
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.4f\n", (e - s) / 1e9}' >>"$work/$name.times"
    read -r rss user sys <"$work/$name.res"
    echo "$rss" >>"$work/$name.peaks"
    awk -v b=$((busy1 - busy0)) -v hz="$hz" -v u="$user" -v s="$sys" \
      'BEGIN {o = b / hz - u - s; printf "%.2f\n", (o > 0 ? o : 0)}' >>"$work/$name.others"
  fi
}

for i in $(seq 0 "$runs"); do
  counted=$([ "$i" -gt 0 ] && echo 1 || echo 0)  # run 0 is a warm-up
  cat "$file" >/dev/null                          # keep the page cache warm for every contender
  timed md5sum md5sum
  # shellcheck disable=SC2086 # the commands are word lists on purpose
  timed hash $HASH_CMD
  # shellcheck disable=SC2086
  timed slices $HASH_CMD $SLICE_FLAG
done

# Other work on the machine steals a core from the two-thread hasher more than from md5sum: the ratios
# mean something only when the others' CPU time during the runs is close to zero.
noise=$(cat "$work"/*.others | sort -n | tail -1)
awk -v n="$noise" 'BEGIN {exit !(n > 0.5)}' &&
  echo "warning: other processes used up to ${noise} CPU s during a run: rerun on an idle machine" >&2

md5=$(median <"$work/md5sum.times")
hash=$(median <"$work/hash.times")
slices=$(median <"$work/slices.times")
peak() { sort -n "$work/$1.peaks" | tail -1 | awk '{printf "%.1f", $1 / 1024}'; }
list() { tr '\n' ' ' <"$work/$1.times"; }

echo "file: ${size_mib} MiB random, runs: $runs (after one warm-up), cpus: $(nproc)"
echo "command: $HASH_CMD   (CPU used by other processes during a run: at most ${noise} s)"
echo "md5sum               median ${md5}s   [$(list md5sum)]  peak RSS $(peak md5sum) MiB"
echo "md5+etag             median ${hash}s   [$(list hash)]  peak RSS $(peak hash) MiB"
echo "md5+etag+slices      median ${slices}s   [$(list slices)]  peak RSS $(peak slices) MiB  ($SLICE_FLAG)"
echo "ratio md5+etag / md5sum:        $(ratio "$hash" "$md5")   (target <= 1.10)"
echo "ratio md5+etag+slices / md5sum: $(ratio "$slices" "$md5")"
