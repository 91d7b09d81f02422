#!/usr/bin/env bash
# Drives `breakeven serve` in headless Chromium (Debian's package) with puppeteer-core: load
# the page, change the volume, see the verdict and the chart change, see the CLI's message
# next to a bad field, open the shareable link and see the same numbers. Screenshots in
# target/ci-serve/; the last one is the README's docs/img/serve.png.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
cargo build --locked --release -q
# puppeteer-core only (no browser download): the versions package-lock.json pins.
(cd tests/browser && npm ci --no-audit --no-fund --silent)
timeout 300 node tests/browser/serve.test.mjs target/release/breakeven target/ci-serve
