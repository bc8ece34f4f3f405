#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster (munged + slurmctld + slurmd on
# localhost) for testing `snakemake --executor slurm`.
#
# Usage: start_slurm.sh [DIR]
#   DIR  holds the rendered config, munge key/socket, state, spool, logs and
#        pid files (default: $SLURM_TEST_DIR or /tmp/snakemake-slurm-test).
#
# Needs root and the Debian packages slurm-wlm (slurmctld, slurmd,
# slurm-client) and munge. Idempotent: if the cluster of DIR is already up,
# it does nothing. On success it prints one line, `SLURM_CONF=DIR/etc/slurm.conf`;
# export that before calling sbatch/squeue/sinfo/snakemake. Stop with
# stop_slurm.sh DIR.
#
# Environment: SLURM_TEST_CTLD_PORT (6817), SLURM_TEST_SLURMD_PORT (6818),
# SLURM_TEST_TIMEOUT (seconds to wait for the node to become idle, 60).
#
# The one change outside DIR: the symlink /run/slurm/conf -> DIR/etc.
# snakemake-executor-plugin-slurm-jobstep strips every SLURM_* variable,
# SLURM_CONF included, before it calls `srun` inside a job, so that srun only
# finds its config at the default places /etc/slurm/slurm.conf or
# /run/slurm/conf/slurm.conf (the latter is where slurmd publishes the config
# in "configless" mode). stop_slurm.sh removes the link again.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${1:-${SLURM_TEST_DIR:-/tmp/snakemake-slurm-test}}
CTLD_PORT=${SLURM_TEST_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_TEST_SLURMD_PORT:-6818}
TIMEOUT=${SLURM_TEST_TIMEOUT:-60}
RUNCONF=/run/slurm/conf

die() { echo "start_slurm.sh: error: $*" >&2; exit 1; }

# The daemons live in /usr/sbin, which is not on every user's PATH.
PATH=$PATH:/usr/sbin:/sbin
for cmd in slurmctld slurmd munged sinfo sbatch squeue scontrol; do
    command -v "$cmd" >/dev/null 2>&1 ||
        die "'$cmd' not found on PATH; install the Debian packages: apt-get install slurm-wlm munge"
done
[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd launches jobs and SlurmUser=root)"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

alive() {  # alive PIDFILE NAME: the pid file names a running NAME process
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ]
}
node_state() { sinfo -h -o %T 2>/dev/null | head -n1; }

if alive "$DIR/munge/munged.pid" munged && alive "$DIR/run/slurmctld.pid" slurmctld &&
    alive "$DIR/run/slurmd.pid" slurmd && [ "$(node_state)" = idle ]; then
    echo "SLURM_CONF=$CONF"
    exit 0
fi
# Partly running or stale: stop whatever is left, then start afresh.
"$HERE/stop_slurm.sh" "$DIR" >/dev/null 2>&1 || true

# Nested srun (inside jobs) must find this config without SLURM_CONF; refuse
# to hijack a host that has a SLURM configuration of its own.
if [ -e /etc/slurm/slurm.conf ]; then
    die "/etc/slurm/slurm.conf exists; srun inside jobs would use it instead of $CONF"
fi
if [ -e "$RUNCONF" ] || [ -L "$RUNCONF" ]; then
    [ -L "$RUNCONF" ] && [ "$(readlink "$RUNCONF")" = "$DIR/etc" ] ||
        die "$RUNCONF exists and is not this test cluster's link (another slurmd or test cluster running?)"
fi

rm -rf "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
mkdir -p "$DIR/etc" "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
chmod 700 "$DIR/munge"

# --- munge: private key and socket ---------------------------------------
if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 400 "$DIR/munge/munge.key"
rm -f "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed" \
    --log-file="$DIR/log/munged.log" 2>>"$DIR/log/munged.log" ||
    die "munged failed to start; see $DIR/log/munged.log"

# --- slurm.conf -----------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REALMEM=$((MEM_MB * 9 / 10))
sed -e "s|@DIR@|$DIR|g" -e "s|@HOST@|$HOST|g" -e "s|@CPUS@|$CPUS|g" \
    -e "s|@REALMEM@|$REALMEM|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" \
    -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" "$HERE/slurm.conf.template" >"$CONF"

mkdir -p "$(dirname "$RUNCONF")"
ln -sfn "$DIR/etc" "$RUNCONF"

fail() {
    {
        echo "start_slurm.sh: error: $*"
        for f in "$DIR"/log/slurmctld.log "$DIR"/log/slurmd.log; do
            [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
        done
    } >&2
    "$HERE/stop_slurm.sh" "$DIR" >/dev/null 2>&1 || true
    exit 1
}

# --- daemons (they fork into the background and write their pid files) -----
slurmctld -f "$CONF" 2>>"$DIR/log/slurmctld.log" || fail "slurmctld failed to start"
slurmd -f "$CONF" 2>>"$DIR/log/slurmd.log" || fail "slurmd failed to start"

deadline=$((SECONDS + TIMEOUT))
state=""
until [ "$state" = idle ]; do
    [ $SECONDS -lt $deadline ] ||
        fail "node not idle after ${TIMEOUT}s (sinfo state: '${state:-none}')"
    sleep 0.3
    alive "$DIR/run/slurmctld.pid" slurmctld || fail "slurmctld exited"
    alive "$DIR/run/slurmd.pid" slurmd || fail "slurmd exited"
    state=$(node_state)
done
echo "SLURM_CONF=$CONF"
