#!/bin/sh
# Fill fuzz/corpus/ with starting inputs: every scenario and bad-input fixture for the scenario
# target; every catalogue file, each behind the byte that tells the catalogue target where the
# file goes (0-3: over the base api, gpu, selfhost or licence file; 4-7: as a new one).
# Run from the repository root: sh fuzz/seed.sh
set -eu
mkdir -p fuzz/corpus/scenario fuzz/corpus/catalogue
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
echo "seeded $(ls fuzz/corpus/scenario | wc -l) scenario and $n catalogue inputs"
