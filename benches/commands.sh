#!/usr/bin/env bash
# Time the commands planners wait on for several release builds, interleaved so that every
# build sees the same noise: each command in turn for each build, REPEAT times.
#   bash benches/commands.sh REPEAT DIR... (each DIR a checkout with target/release/breakeven,
#   run from its own folder with its own scenario files)
# Prints: build|command|user s|system s|wall s|peak RSS kB
set -euo pipefail
repeat=$1
shift
commands=(
  "run scenarios/startup-growth.toml"
  "report scenarios/startup-growth.toml"
  "plan scenarios/bench-w1.toml"
  "plan scenarios/startup-growth.toml"
)
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for _ in $(seq "$repeat"); do
  for dir in "$@"; do
    for c in "${commands[@]}"; do
      # shellcheck disable=SC2086
      (cd "$dir" && /usr/bin/time -f "$dir|$c|%U|%S|%e|%M" ./target/release/breakeven $c >/dev/null 2>"$err") || true
      tail -1 "$err"
    done
  done
done
