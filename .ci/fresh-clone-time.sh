#!/usr/bin/env bash
# Time the README's two first-screen commands on a fresh clone of this repository's HEAD with an
# empty target/ (what a new user waits for). Run it on a quiet machine; it prints each command's
# wall time and the load average after it. Usage: bash .ci/fresh-clone-time.sh [WORKDIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
rm -rf "$work/clone"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
echo "commit $(git log --oneline -1 | cut -c1-60); load $(cut -d' ' -f1-3 /proc/loadavg)"
t() {
  local name=$1; shift
  local s e
  s=$(date +%s%N)
  "$@" > "$work/$name.log" 2>&1 || { echo "$name failed: see $work/$name.log"; exit 1; }
  e=$(date +%s%N)
  awk -v c="$*" -v ns=$((e - s)) -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
    'BEGIN { printf "%-40s %6.1f s   load %s\n", c, ns / 1e9, load }'
}
t main cargo run --release -- run scenarios/startup-growth.toml
t test cargo test --release --locked
grep -E "Finished|finished in" "$work/test.log"
