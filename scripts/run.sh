#!/usr/bin/env bash
# Runs PanDrop on the built-in sandbox cloud: no account needed.
#   scripts/run.sh              uploads a demo file twice (the second time is an instant upload)
#   scripts/run.sh FILE|DIR...  uploads your files and folders to /demo in the sandbox
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -q -p pandrop-cli
cli="${CARGO_TARGET_DIR:-target}/release/pandrop-cli"

if [ "$#" -eq 0 ]; then
  demo="$(mktemp -d)/pandrop-demo.bin"
  head -c $((48 * 1024 * 1024)) /dev/urandom >"$demo"
  echo "uploading a fresh 48 MiB demo file to the sandbox:"
  "$cli" upload --sandbox --to /demo "$demo"
  echo "and again (the sandbox already holds these bytes):"
  "$cli" upload --sandbox --to /demo "$demo"
  rm -f "$demo"
else
  "$cli" upload --sandbox --to /demo "$@"
fi
echo "run '$cli sandbox' to keep the sandbox cloud running and upload to it from anywhere."
