#!/bin/sh
# Fill fuzz/corpus/ with starting inputs: every scenario and bad-input fixture for the scenario
# target; every catalogue file, each behind the byte that tells the catalogue target where the
# file goes (0-3: over the base api, gpu, selfhost or licence file; 4-7: as a new one).
# Run from the repository root: sh fuzz/seed.sh
set -eu
mkdir -p fuzz/corpus/scenario fuzz/corpus/catalogue fuzz/corpus/cli fuzz/corpus/part
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
    "merge out/p/sweep.part-0-of-2.jsonl out/p/sweep.part-1-of-2.jsonl" \
    "sensitivity scenarios/agency.toml --json" \
    "plan scenarios/agency.toml --screen-paths 2 --finalists 1" \
    "report scenarios/closed-form.toml --out out/r" \
    "--catalogue cat models --kind gpu" \
    "price bfl/flux-2-klein-4b --size 1024x2048 --json" \
    "run scenarios/editing.toml --against x,y"; do
    printf '%s' "$line" | tr ' ' '\000' > "fuzz/corpus/cli/seed-$k"
    k=$((k + 1))
done
# Parts for the part target: one shard of each command on small runs, behind the byte that
# says whether to recompute the digest (0: keep it as written).
parts=$(mktemp -d)
for cmd in "run scenarios/closed-form.toml" "sweep scenarios/closed-form.toml --points 3" \
    "sensitivity scenarios/agency.toml" "plan scenarios/agency.toml --screen-paths 100"; do
    # shellcheck disable=SC2086 # cmd is a command line.
    cargo run --release -q -- $cmd --samples 200 --shard 0/2 --out "$parts" -q >/dev/null
done
cargo run --release -q -- plan scenarios/agency.toml --screen-paths 100 --samples 200 \
    --shard 0/2 --screened "$parts" --out "$parts" -q >/dev/null 2>&1 || true
p=0
for f in "$parts"/*.jsonl; do
    { printf '\000'; cat "$f"; } > "fuzz/corpus/part/seed-$p"
    p=$((p + 1))
done
rm -rf "$parts"
echo "seeded $(ls fuzz/corpus/scenario | wc -l) scenario, $n catalogue, $k command-line and $p part inputs"
