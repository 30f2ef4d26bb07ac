#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a fresh, unlocked gnome-keyring (a real Secret
# Service), so keyring tests never touch the user's own keyring.
#   scripts/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${PANDROP_KEYRING_SESSION:-}" ]; then
  export PANDROP_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
XDG_DATA_HOME=$(mktemp -d)
export XDG_DATA_HOME
mkdir -p "$XDG_DATA_HOME/keyrings"
# The daemon creates and unlocks a login keyring with this password, then serves it on this session bus.
printf 'pandrop-test-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
"$@"
