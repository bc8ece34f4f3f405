#!/usr/bin/env bash
# Stop the test cluster started by start_slurm.sh [DIR]: cancel its jobs, stop
# slurmd, slurmctld and munged by their pid files, and remove the
# /run/slurm/conf link if it points to DIR. Safe to run when nothing is up.
set -uo pipefail

DIR=${1:-${SLURM_TEST_DIR:-/tmp/snakemake-slurm-test}}
[ -d "$DIR" ] || exit 0
DIR=$(cd "$DIR" && pwd)
export SLURM_CONF=$DIR/etc/slurm.conf
PATH=$PATH:/usr/sbin:/sbin
RUNCONF=/run/slurm/conf

pid_of() {  # pid_of PIDFILE NAME: print the pid if it is a running NAME
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] && echo "$pid"
}

stop() {  # stop PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL
    local pid i
    pid=$(pid_of "$1" "$2") || { rm -f "$1"; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        [ -d "/proc/$pid" ] || break
        sleep 0.2
    done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -f "$1"
}

# Cancel the cluster's jobs first, so that no slurmstepd / job process
# outlives the daemons.
if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null && command -v squeue >/dev/null; then
    jobs=$(squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null || true
        for _ in $(seq 50); do
            [ -z "$(squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# slurmd and slurmctld take 1-2 s each to exit: stop them together.
stop "$DIR/run/slurmd.pid" slurmd &
stop "$DIR/run/slurmctld.pid" slurmctld &
wait
stop "$DIR/munge/munged.pid" munged

if [ -L "$RUNCONF" ] && [ "$(readlink "$RUNCONF")" = "$DIR/etc" ]; then
    rm -f "$RUNCONF"
fi
exit 0
