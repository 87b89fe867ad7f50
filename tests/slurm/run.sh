#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for `make test-slurm`: its own munged (own
# socket), slurmctld and slurmd (own ports, state in a temp folder), then the project's
# batch scripts as a user would submit them:
#   1. experiments/slurm/train.sbatch on 2 tasks: the loss equals a plain 1-process run
#      within 1e-4 relative (the data-parallel contract of `mpirun -np 2 ./meki train`);
#   2. experiments/slurm/sweep.sbatch experiments/smoke.ini on 2 tasks: the same runs and
#      validation losses as a plain `./meki sweep` of it.
# Everything started here is stopped on exit. Needs root (slurmd) and slurm-wlm + munge.
set -euo pipefail
MEKI=${1:-./meki}
T=$(mktemp -d /tmp/meki-slurm.XXXXXX)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${started[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  pkill -9 -f "$T/" 2>/dev/null || true   # a daemon that failed before its pid file was read
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "test-slurm: FAILED: $*"; for f in "$T"/log/*.log; do echo "== $f"; tail -n 20 "$f"; done; exit 1; }

mkdir -p "$T"/state "$T"/spool "$T"/log "$T"/munge
# munged refuses a key or folders others may write; a private copy of the key, mode 0600
install -m 0600 /etc/munge/munge.key "$T/munge/munge.key"
chmod 0700 "$T/munge"
munged --force --socket="$T/munge/sock" --key-file="$T/munge/munge.key" --pid-file="$T/munge/pid" \
       --log-file="$T/log/munged.log" --seed-file="$T/munge/seed"
started+=("$(cat "$T/munge/pid")")

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
port=$((17000 + RANDOM % 2000))
cat >"$T/slurm.conf" <<CONF
ClusterName=mekitest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF=$T/slurm.conf
# the daemons fork; their pid files appear a moment later
pid_of() { for i in $(seq 50); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.2; done; fail "no $1"; }
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
started+=("$(pid_of "$T/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
started+=("$(pid_of "$T/slurmd.pid")")
for i in $(seq 60); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
  [ "$i" = 60 ] && fail "the node never came up idle (sinfo: $(sinfo -h 2>&1))"
done
echo "test-slurm: one-node Slurm up ($host, $cpus CPUs, port $port)"

# 1. data-parallel training under srun
$MEKI train --preset tiny --tokens 12800 --batch 4 --seq-len 32 --threads 1 --quiet --json \
     --out "$T/plain" >"$T/plain.json"
sbatch --wait --quiet --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=10 --output="$T/log/train.log" \
       experiments/slurm/train.sbatch --preset tiny --tokens 12800 --batch 4 --seq-len 32 --quiet --json \
       --out "$T/slurm-train" || fail "train.sbatch failed"
number() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1" | tail -n 1; }
one=$(number "$T/plain.json" train_loss)
two=$(number "$T/log/train.log" train_loss)
ranks=$(number "$T/log/train.log" ranks)
[ "$ranks" = 2 ] || fail "train.sbatch ran on ${ranks:-?} ranks, not 2"
awk -v a="$one" -v b="$two" 'BEGIN { d = (a - b) / a; if (d < 0) d = -d; exit !(a != "" && d < 1e-4) }' ||
  fail "2-rank train loss $two differs from 1-process $one"
echo "test-slurm: train.sbatch on 2 ranks: train loss $two, 1 process $one"

# 2. a sweep handed out over 2 ranks
$MEKI sweep experiments/smoke.ini --db "$T/plain/m.db" --threads 1 --quiet >"$T/log/plain-sweep.log" 2>&1 ||
  fail "the plain sweep failed"
sbatch --wait --quiet --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=20 --output="$T/log/sweep.log" \
       experiments/slurm/sweep.sbatch experiments/smoke.ini "$T/slurm-sweep/m.db" || fail "sweep.sbatch failed"
grep -q "to rank 1" "$T/log/sweep.log" || fail "sweep.sbatch never handed a run to rank 1"
table() { $MEKI runs --db "$1" --experiment smoke | awk 'NR > 1 {print $1, $2, $5}' | sort; }
diff <(table "$T/plain/m.db") <(table "$T/slurm-sweep/m.db") >"$T/diff.txt" ||
  fail "the Slurm sweep's runs differ from a plain sweep's: $(cat "$T/diff.txt")"
echo "test-slurm: sweep.sbatch on 2 ranks recorded the plain sweep's $(table "$T/plain/m.db" | wc -l) runs and losses"
echo "SLURM TESTS PASSED"
