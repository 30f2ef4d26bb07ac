#!/usr/bin/env bash
# Builds the Debian package (release app, desktop entry, icons, file-manager actions) with the Tauri CLI
# from ui/node_modules, then checks its contents. Prints the package path and its `dpkg-deb -c` listing.
#
#   scripts/package-deb.sh        (after `npm ci` in ui/)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[ -x ui/node_modules/.bin/tauri ] || (cd ui && npm ci --no-audit --no-fund)
target=${CARGO_TARGET_DIR:-$PWD/target}
rm -rf "$target/release/bundle/deb"
(cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb --ci)
deb=$(ls "$target"/release/bundle/deb/*.deb)
listing=$(dpkg-deb -c "$deb")
echo "$deb"
echo "$listing"
missing=0
for want in usr/bin/pandrop usr/share/applications/PanDrop.desktop usr/share/icons/hicolor/128x128/apps/pandrop.png \
  usr/share/nemo/actions/pandrop-send.nemo_action usr/share/kio/servicemenus/pandrop-send.desktop; do
  grep -Eq " (\./)?$want\$" <<<"$listing" || { echo "MISSING from the package: $want"; missing=1; }
done
# The packaged desktop entry must be a valid one, with the MimeType list that puts PanDrop in "Open With".
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work"
desktop-file-validate "$work/usr/share/applications/PanDrop.desktop"
grep -q '^MimeType=application/octet-stream;inode/directory;$' "$work/usr/share/applications/PanDrop.desktop" ||
  { echo "the packaged desktop entry has no MimeType list"; missing=1; }
dpkg-deb -f "$deb" Package Version Depends
if [ "$missing" -ne 0 ]; then exit 1; fi
echo "package: OK"
