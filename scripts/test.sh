#!/usr/bin/env bash
# The full test suite: formatting and lints of both languages, the web UI's unit, component and browser
# tests, every test of every crate (the desktop shell's included), the keyring tests against a real Secret
# Service, the real desktop app in a WebKit window driven by WebDriver (send-to from a second process
# included), the interop tests with official peer SDKs, a bounded run of the fuzz targets, and the Debian package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
rustup component add clippy rustfmt >/dev/null 2>&1 || true

echo "== web UI: install, type check, unit and component tests, build"
# The desktop shell embeds ui/dist when it compiles, so the UI is built before any cargo step.
(cd ui && npm ci --no-audit --no-fund && npm run check && npm test && npm run build)

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
echo "== keyring (a real Secret Service on a private D-Bus session)"
# Built first: the keyring daemon is started only when the tests are ready to run. `--workspace`, as the step
# above, so the features match and nothing is compiled again.
keyring_tests=(--locked --workspace --test engine --test cli)
cargo test "${keyring_tests[@]}" --no-run
scripts/with-keyring.sh cargo test "${keyring_tests[@]}" -- --ignored
echo "== web UI in Chromium (mocked shell)"
(cd ui && npm run test:browser)
echo "== desktop app under Xvfb, driven by WebDriver"
tests/webdriver/run.sh
echo "== interop"
tests/interop/run.sh
echo "== fuzzing (bounded)"
# Seven targets, 60 s each, two at a time on two cores: about 4 minutes of runs; with a cold build and
# cargo-fuzz to install, about 8 minutes in all. See docs/fuzzing.md.
scripts/fuzz.sh 60
echo "== Debian package"
scripts/package-deb.sh
