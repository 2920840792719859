#!/usr/bin/env sh
# Vendor Swagger UI (npm package swagger-ui-dist, pinned) into vtn/assets/swagger-ui/, with its licence.
# The VTN serves these files itself at {base}/docs: no CDN at run time. Needs npm; run from anywhere.
set -eu
VERSION=5.35.0
HERE=$(cd "$(dirname "$0")/.." && pwd)
DEST="$HERE/vtn/assets/swagger-ui"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null && tar xzf "swagger-ui-dist-$VERSION.tgz")
mkdir -p "$DEST"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$WORK/package/$f" "$DEST/$f"
done
# The bundle names a source map we do not ship; browsers would ask for it in vain.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js" "$DEST/swagger-ui.css"
echo "swagger-ui-dist $VERSION" > "$DEST/VERSION"
echo "vendored swagger-ui-dist $VERSION into $DEST"
