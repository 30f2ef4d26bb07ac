#!/usr/bin/env bash
# Installs what PanDrop needs to build and test on Debian/Ubuntu: system packages (the WebKitGTK stack of the
# desktop app, a virtual display, Chromium and a WebDriver for the UI tests, a Secret Service keyring), Node.js
# for the web UI, and a Rust toolchain. Safe to run again: it installs only what is missing.
set -euo pipefail

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(
  # the engine and the command line
  build-essential pkg-config libssl-dev curl ca-certificates git python3 python3-venv python3-pip
  # the desktop app (Tauri v2 on WebKitGTK 4.1)
  libwebkit2gtk-4.1-dev libsoup-3.0-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  # a session bus and a real Secret Service keyring; the desktop-entry validator
  dbus-x11 gnome-keyring desktop-file-utils
  # tests: a virtual display, the WebKit WebDriver, Chromium for the UI's browser tests, screenshots
  xvfb xauth webkit2gtk-driver chromium imagemagick
)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  need_root apt-get update -qq
  need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
cargo --version
node --version
