#!/usr/bin/env bash
# Opens a generated report in headless Chromium (Debian's package) with the network cut off,
# and checks that it renders to a screenshot of the whole page.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
out=target/ci-report
rm -rf "$out"
cargo run --locked --release -q -- report scenarios/closed-form.toml --samples 200 --out "$out"
profile=$(mktemp -d)
# --proxy-server to a closed port: any fetch the page tried would fail, so what renders is
# only what the file carries.
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --proxy-server=127.0.0.1:9 --user-data-dir="$profile" --window-size=1200,4000 \
  --screenshot="$out/report.png" "file://$PWD/$out/report.html" 2>/dev/null
size=$(stat -c %s "$out/report.png")
echo "report.html rendered by headless Chromium: $out/report.png ($size bytes)"
# A blank 1200x4000 page compresses to a few kilobytes; charts and tables make it far larger.
[ "$size" -gt 100000 ]
