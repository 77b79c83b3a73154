#!/usr/bin/env bash
# End-to-end test of `harness slurm` on a real, single-node Slurm started here (needs root).
# Installs Debian's slurm-wlm and munge if missing, starts munged, slurmctld and slurmd with a
# minimal config in a temporary folder, submits a small sweep as a job array plus its report job,
# waits (bounded) for both, prints squeue/scontrol evidence, and checks that the merged report
# has one summary row per run of the expanded grid. Always stops the daemons it started.
#
#   HARNESS=target/debug/harness scripts/slurm_e2e.sh      (exit 0: passed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HARNESS=$(realpath "${HARNESS:-target/debug/harness}")
TIMEOUT_S=${SLURM_E2E_TIMEOUT_S:-180}
# Small and quick: 4 runs (smoke's grid: loss.phi × seed) of 40 steps, in 2 array tasks.
OVERRIDES=(train.steps=40 detect.patience=10)

log() { echo "[slurm_e2e] $*"; }
[ "$(id -u)" = 0 ] || { log "needs root (installs packages, starts munged/slurmd)"; exit 1; }
[ -x "$HARNESS" ] || { log "no harness binary at $HARNESS (cargo build first)"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

WORK=$(mktemp -d /tmp/harness-slurm-e2e.XXXXXX)
STARTED_MUNGED=0
cleanup() {
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$WORK/slurmctld.pid" ]; then
    scancel --quiet --user=root 2>/dev/null
  fi
  for d in slurmd slurmctld; do
    if [ -f "$WORK/$d.pid" ]; then
      pid=$(cat "$WORK/$d.pid")
      kill "$pid" 2>/dev/null && log "stopped $d (pid $pid)"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  if [ "$STARTED_MUNGED" = 1 ] && [ -f /run/munge/munged.pid ]; then
    pid=$(cat /run/munge/munged.pid)
    kill "$pid" 2>/dev/null && log "stopped munged (pid $pid)"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- munge: a key, and munged running as user munge ---
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key && chmod 0755 /run/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  STARTED_MUNGED=1
  log "started munged (pid $(cat /run/munge/munged.pid))"
fi
munge -n | unmunge >/dev/null

# --- slurm: a one-node cluster in $WORK ---
HOST=$(hostname -s 2>/dev/null || uname -n | cut -d. -f1)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF="$WORK/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=harness-e2e
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$WORK/jobcomp.txt
MpiDefault=none
ReturnToService=2
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
log "started slurmctld (pid $(cat "$WORK/slurmctld.pid" 2>/dev/null || echo ?)) and slurmd"

deadline=$(( SECONDS + 60 ))
until sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; do
  if (( SECONDS > deadline )); then
    log "node never became idle"; sinfo -N -l || true
    tail -n 20 "$WORK/slurmctld.log" "$WORK/slurmd.log" || true
    exit 1
  fi
  sleep 1
done
log "node $HOST idle: $(sinfo -h -N -o '%N %T cpus=%c mem=%m')"

# --- the sweep, through harness slurm ---
OUT="$WORK/reports"
RUNS=$("$HARNESS" sweep experiments/smoke.toml --dry-run --out "$OUT" "${OVERRIDES[@]}" | head -n1 | awk '{print $1}')
SUBMIT=$("$HARNESS" slurm experiments/smoke.toml --submit --array 2 --out "$OUT" "${OVERRIDES[@]}")
echo "$SUBMIT"
ARRAY_JOB=$(echo "$SUBMIT" | sed -n 's/^submitted array job \([0-9]*\) and report job \([0-9]*\).*/\1/p')
REPORT_JOB=$(echo "$SUBMIT" | sed -n 's/^submitted array job \([0-9]*\) and report job \([0-9]*\).*/\2/p')
[ -n "$ARRAY_JOB" ] && [ -n "$REPORT_JOB" ] || { log "no job ids in harness slurm's output"; exit 1; }

squeue -j "$ARRAY_JOB,$REPORT_JOB" -o '%.12i %.24j %.10T %.10M %R' || true
deadline=$(( SECONDS + TIMEOUT_S ))
while [ -n "$(squeue -h -j "$ARRAY_JOB,$REPORT_JOB" 2>/dev/null)" ]; do
  if (( SECONDS > deadline )); then
    log "jobs still queued or running after ${TIMEOUT_S}s"
    squeue -j "$ARRAY_JOB,$REPORT_JOB" || true
    cat "$OUT"/smoke/slurm/logs/* 2>/dev/null || true
    exit 1
  fi
  sleep 2
  squeue -h -j "$ARRAY_JOB,$REPORT_JOB" -o '  %.12i %.24j %.10T %.10M %R' 2>/dev/null || true
done

# --- evidence and checks ---
echo "== squeue (empty: all done) =="
squeue -a
echo "== scontrol show job (array tasks and report job) =="
JOBS=$(scontrol show job "$ARRAY_JOB"; scontrol show job "$REPORT_JOB")
echo "$JOBS" | grep -E 'JobId=|JobState=|Dependency=|Command=' | sed 's/^ */  /'
N_JOBS=$(echo "$JOBS" | grep -c 'JobState=')
[ "$N_JOBS" = 3 ] || { log "FAIL: expected 2 array tasks and 1 report job, scontrol shows $N_JOBS"; exit 1; }
echo "== job completions (jobcomp/filetxt; sacct needs slurmdbd) =="
cat "$WORK/jobcomp.txt" 2>/dev/null || true
for f in "$OUT"/smoke/slurm/logs/*; do echo "== $(basename "$f") =="; cat "$f"; done

states=$(echo "$JOBS" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c)
if echo "$states" | grep -v 'JobState=COMPLETED' | grep -q .; then
  log "a job did not complete: $states"; exit 1
fi
SUMMARY="$OUT/smoke/summary.csv"
[ -f "$SUMMARY" ] || { log "no merged report: $SUMMARY missing"; exit 1; }
ROWS=$(( $(wc -l < "$SUMMARY") - 1 ))
log "summary.csv: $ROWS rows for $RUNS runs of the expanded grid; shard manifests: $(ls "$OUT/smoke/shards" | tr '\n' ' ')"
[ "$ROWS" = "$RUNS" ] || { log "FAIL: summary rows ($ROWS) != runs ($RUNS)"; exit 1; }
[ -f "$OUT/smoke/index.html" ] || { log "FAIL: no index.html"; exit 1; }
log "PASS"
