#!/usr/bin/env bash
# Refreshes the dashboard's vendored Chart.js from the npm registry: run after changing the version in
# src/CommentFlow/Dashboard/package.json (needs npm; the build and the tests do not). It updates the lock file, packs the
# package, checks the tarball against the lock file's integrity, and writes the UMD build, its licence and a manifest
# naming both hashes into Dashboard/vendor/ (VendoredChartTests checks the file against the manifest and the lock file).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../src/CommentFlow/Dashboard" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$dir"
npm install --package-lock-only --no-audit --no-fund --loglevel=error
version="$(node -p "require('./package-lock.json').packages['node_modules/chart.js'].version")"
integrity="$(node -p "require('./package-lock.json').packages['node_modules/chart.js'].integrity")"
(cd "$work" && npm pack "chart.js@$version" --silent >/dev/null)
actual="sha512-$(openssl dgst -sha512 -binary "$work/chart.js-$version.tgz" | base64 -w0)"
[[ "$actual" == "$integrity" ]] || { echo "tarball $actual does not match the lock file's $integrity" >&2; exit 1; }
tar xzf "$work/chart.js-$version.tgz" -C "$work" package/dist/chart.umd.min.js package/LICENSE.md
cp "$work/package/dist/chart.umd.min.js" vendor/chart.umd.min.js
cp "$work/package/LICENSE.md" vendor/chart.js.LICENSE.md
cat > vendor/chart.js.json <<JSON
{
  "package": "chart.js",
  "version": "$version",
  "tarball_integrity": "$integrity",
  "file": "package/dist/chart.umd.min.js",
  "file_sha256": "$(sha256sum vendor/chart.umd.min.js | cut -d' ' -f1)"
}
JSON
echo "Chart.js $version vendored"
