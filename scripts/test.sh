#!/usr/bin/env bash
# The full test suite: formatting, lints, every test of every crate, the keyring tests against a real Secret
# Service, and the interop tests with official peer SDKs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
rustup component add clippy rustfmt >/dev/null 2>&1 || true

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
echo "== keyring (a real Secret Service on a private D-Bus session)"
scripts/with-keyring.sh cargo test --locked -p pandrop-engine -p pandrop-cli --test keyring --test login_keyring -- --ignored
echo "== interop"
tests/interop/run.sh
