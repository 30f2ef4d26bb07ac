#!/usr/bin/env bash
# Runs PanDrop on the built-in sandbox cloud: no account needed.
#   scripts/run.sh              builds the desktop app and opens it on the sandbox (drop files on the window)
#   scripts/run.sh --cli        no display: uploads a demo file twice with the command line (the second time
#                               is an instant upload)
#   scripts/run.sh --cli FILE|DIR...  uploads your files and folders to /demo in the sandbox
# With no display ($DISPLAY and $WAYLAND_DISPLAY unset) it falls back to --cli.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
target="${CARGO_TARGET_DIR:-target}"

cli=0
if [ "${1:-}" = --cli ]; then
  cli=1
  shift
elif [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display: running the command line instead of the desktop app"
  cli=1
fi

if [ "$cli" -eq 0 ]; then
  echo "building the web UI and the desktop app (the first build takes several minutes)"
  # Only what changed is built again: a fresh ui/dist makes cargo embed it anew (a long release link).
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules ]; then
    (cd ui && npm ci --no-audit --no-fund --silent)
  fi
  if [ ! -f ui/dist/index.html ] ||
    [ -n "$(find ui/src ui/index.html ui/package.json ui/vite.config.* -newer ui/dist/index.html 2>/dev/null | head -1)" ]; then
    (cd ui && npm run build --silent)
  fi
  cargo build --release -q -p pandrop --features custom-protocol
  exec "$target/release/pandrop" --sandbox
fi

cargo build --release -q -p pandrop-cli
bin="$target/release/pandrop-cli"
if [ "$#" -eq 0 ]; then
  demo="$(mktemp -d)/pandrop-demo.bin"
  head -c $((48 * 1024 * 1024)) /dev/urandom >"$demo"
  echo "uploading a fresh 48 MiB demo file to the sandbox:"
  "$bin" upload --sandbox --to /demo "$demo"
  echo "and again (the sandbox already holds these bytes):"
  "$bin" upload --sandbox --to /demo "$demo"
  rm -f "$demo"
else
  "$bin" upload --sandbox --to /demo "$@"
fi
echo "run '$bin sandbox' to keep the sandbox cloud running and upload to it from anywhere."
