#!/bin/sh
# Fill fuzz/corpus/ with starting inputs: every scenario and bad-input fixture for the scenario
# target; every catalogue file, each behind the byte that tells the catalogue target where the
# file goes (0-3: over the base api, gpu, selfhost or licence file; 4-7: as a new one).
# Run from the repository root: sh fuzz/seed.sh
set -eu
mkdir -p fuzz/corpus/scenario fuzz/corpus/catalogue fuzz/corpus/cli
cp scenarios/*.toml tests/fixtures/bad/*.toml fuzz/corpus/scenario/
n=0
seed() { # slot file
    printf "\\$(printf '%03o' "$1")" > "fuzz/corpus/catalogue/seed-$n"
    cat "$2" >> "fuzz/corpus/catalogue/seed-$n"
    n=$((n + 1))
}
slot() { # path below a catalogue root -> 0..3
    case "$1" in
        api/*) echo 0 ;;
        gpu/*) echo 1 ;;
        selfhost/*) echo 2 ;;
        *) echo 3 ;;
    esac
}
for root in fuzz/seeds/catalogue tests/fixtures/bad/cat-*; do
    for f in $(cd "$root" && find . -name '*.toml' | sed 's|^\./||'); do
        seed "$(slot "$f")" "$root/$f"
    done
done
for f in $(cd models && find . -name '*.toml' | sed 's|^\./||'); do
    seed $(($(slot "$f") + 4)) "models/$f"
done
# Command lines for the cli target: arguments separated by NUL bytes.
k=0
for line in \
    "run scenarios/closed-form.toml --out out/a" \
    "sweep scenarios/closed-form.toml --points 3 --out out/a" \
    "sweep scenarios/closed-form.toml --shard 0/2 --out out/p" \
    "merge out/p/sweep.part-0-of-2.json out/p/sweep.part-1-of-2.json" \
    "sensitivity scenarios/agency.toml --json" \
    "plan scenarios/agency.toml --screen-paths 2 --finalists 1" \
    "report scenarios/closed-form.toml --out out/r" \
    "--catalogue cat models --kind gpu" \
    "price bfl/flux-2-klein-4b --size 1024x2048 --json" \
    "run scenarios/editing.toml --against x,y"; do
    printf '%s' "$line" | tr ' ' '\000' > "fuzz/corpus/cli/seed-$k"
    k=$((k + 1))
done
echo "seeded $(ls fuzz/corpus/scenario | wc -l) scenario, $n catalogue and $k command-line inputs"
