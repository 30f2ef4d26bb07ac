#!/usr/bin/env bash
# Interop tests: official peer SDKs (installed from PyPI into target/interop-venv) against pandrop-fakecloud.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

venv=target/interop-venv
requirements=tests/interop/requirements.txt
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# Reinstall only when the pinned requirements change.
if ! cmp -s "$requirements" "$stamp"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
fi

cargo build --quiet --locked -p pandrop-fakecloud
target_dir=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)
export PANDROP_FAKECLOUD="${PANDROP_FAKECLOUD:-$target_dir/debug/pandrop-fakecloud}"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop
