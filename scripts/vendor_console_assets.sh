#!/usr/bin/env sh
# Vendor uPlot (npm package uplot, pinned) into vtn/console/static/vendor/uplot/, with its licence.
# The console serves these files itself: no CDN at run time. Needs npm; run from anywhere.
set -eu
VERSION=1.6.32
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/vtn/console/static/vendor/uplot"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "uplot@$VERSION" >/dev/null && tar xzf "uplot-$VERSION.tgz")
mkdir -p "$DEST"
cp "$WORK/package/dist/uPlot.iife.min.js" "$DEST/uPlot.iife.min.js"
cp "$WORK/package/dist/uPlot.min.css" "$DEST/uPlot.min.css"
cp "$WORK/package/LICENSE" "$DEST/LICENSE"
echo "uplot $VERSION" > "$DEST/VERSION"
echo "vendored uplot $VERSION into $DEST"
