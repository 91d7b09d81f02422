#!/usr/bin/env bash
# Sharding on a real scheduler: a one-node Slurm cluster (Debian's slurmctld, slurmd and munge)
# in a temporary folder, an 8-task job array of a small sweep and of a small run submitted with
# the shipped recipe (deploy/slurm/breakeven.sbatch), merged, and compared byte for byte with
# one machine's output. Stops exactly the daemons it started.
#
# Needs root (the daemons run as root: SlurmUser=root). Skipped with BREAKEVEN_SKIP_SLURM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

if [ "${BREAKEVEN_SKIP_SLURM:-}" = 1 ]; then
  echo "slurm-test: skipped (BREAKEVEN_SKIP_SLURM=1)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm-test: needs root (the one-node cluster runs its daemons as root); skipped" >&2
  exit 0
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

cargo build --locked --release -q
bin=$repo/target/release/breakeven

tmp=$(mktemp -d /tmp/breakeven-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
stop() {
  # Only the daemons this script started, by their process ids.
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-}" != 1 ]; then rm -rf "$tmp"; fi
}
trap stop EXIT

# munge: its key, socket, log and pid in the temporary folder.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/run" "$tmp/shared"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
munged --force --key-file="$tmp/munge/munge.key" --socket="$socket" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" \
  --seed-file="$tmp/munge/munge.seed"
for _ in $(seq 50); do [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")

cpus=$(nproc)
port=$((20000 + RANDOM % 20000))
cat >"$tmp/slurm.conf" <<EOF
ClusterName=breakeven-ci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
# sbatch --wait polls every 2 s while that is under MinJobAge/2, then every 8 and 32 s:
# a short MinJobAge keeps it at 2 s (a finished job is still known for 4 s).
MinJobAge=4
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/slurm.conf

slurmctld -f "$SLURM_CONF" -i
for _ in $(seq 100); do [ -s "$tmp/run/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/run/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 100); do [ -s "$tmp/run/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/run/slurmd.pid")")
for _ in $(seq 150); do
  state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
  case "$state" in idle*) break ;; esac
  sleep 0.2
done
echo "slurm-test: one-node cluster up ($(sinfo -h -o '%P %D %c %T'); $(sbatch --version))"

# The tasks find the binary with BREAKEVEN (the recipe would build it when missing).
export BREAKEVEN=$bin
check() {
  local what=$1 scenario=$2 file=$3
  shift 3
  local shared=$tmp/shared/$what one=$tmp/one-$what
  (cd "$tmp" && "$bin" "$what" "$repo/$scenario" "$@" --out "$one" -q >/dev/null)
  local start=$SECONDS
  # The recipe as shipped, submitted as it is: the driver job submits an 8-task array, waits
  # for it and merges.
  (cd "$tmp" && COMMAND=$what SCENARIO=$repo/$scenario SHARDS=8 OUT=$shared ARGS="$*" \
    sbatch --wait --output="$tmp/log/$what-driver.out" "$repo/deploy/slurm/breakeven.sbatch" >/dev/null) || {
    cat "$tmp/log/$what-driver.out" >&2
    exit 1
  }
  local tasks
  tasks=$(ls "$shared/$what".part-*-of-8.jsonl | wc -l)
  [ "$tasks" = 8 ]
  cmp "$one/$file" "$shared/$file"
  echo "slurm-test: $what: $tasks array tasks merged to the bytes of one run ($file, $((SECONDS - start)) s)"
}
check sweep scenarios/bench-w1.toml sweep.json --samples 2000 --points 8
check run scenarios/startup-growth.toml summary.json --samples 2000
# A plan's two arrays (screening, final round) too, when asked: about a minute more.
if [ "${BREAKEVEN_SLURM_PLAN:-}" = 1 ]; then
  check plan scenarios/agency.toml plan.json --samples 300 --screen-paths 200
fi
echo "slurm-test: passed"
