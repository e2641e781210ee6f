#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, from Debian's packages, to try the SLURM profile on:
#   scripts/slurm-localhost.sh start [STATE_DIR]    install (apt-get) if needed, configure, start, wait until ready
#   scripts/slurm-localhost.sh stop  [STATE_DIR]    stop the daemons it started, by pid
# STATE_DIR (default /var/tmp/layerwise-slurm) holds the daemons' state, logs and pid files: a folder
# the script creates owned by root, mode 0700, and refuses when it is anything else (a symlink, another
# owner, other modes), since it runs as root and kills the pids found there; it kills a pid only when
# that process is the daemon the file is named after. The configuration goes where every SLURM
# command looks, /etc/slurm/slurm.conf (Snakemake's job steps drop SLURM_* variables such as
# SLURM_CONF); the script never touches a slurm.conf it did not write, and `stop` removes its own, and
# the munge key if `start` created it. Starting again while it runs only checks that it is ready. It
# needs root: slurmd runs jobs as their submitter. Daemons are started directly, not through systemd,
# which containers often lack.
set -euo pipefail
action=${1:?usage: slurm-localhost.sh start|stop [STATE_DIR]}
state=$(realpath -ms "${2:-/var/tmp/layerwise-slurm}")  # -s: a symlink stays one, and is refused
conf=/etc/slurm/slurm.conf
key=/etc/munge/munge.key
mark="# written by layerwise scripts/slurm-localhost.sh"
here=$(dirname "$(realpath "$0")")

fail() { echo "slurm-localhost: $*" >&2; exit 1; }

check_state() {  # the folder is this script's: root's, 0700, a real folder
    [ ! -L "$state" ] || fail "$state is a symbolic link; give a folder of root's (mode 0700)"
    [ -d "$state" ] || fail "$state is not a folder"
    [ "$(stat -c %u "$state")" = 0 ] || fail "$state is not owned by root; give a folder of root's (mode 0700)"
    [ "$(stat -c %a "$state")" = 700 ] || fail "$state has mode $(stat -c %a "$state"), not 0700"
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

stop_daemon() {  # $1 by the pid in its pid file $2, if that process is $1; SIGKILL if it has not ended after 10 s
    local name=$1 pidfile=$2 pid
    running "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    if [ "$(cat "/proc/$pid/comm" 2> /dev/null)" != "$name" ]; then
        echo "slurm-localhost: pid $pid in $pidfile is not $name; left alone" >&2
        rm -f "$pidfile"
        return 0
    fi
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
    rm -f "$pidfile"
}

stop() {
    [ -e "$state" ] || return 0  # nothing was started there
    check_state
    stop_daemon slurmd "$state/slurmd.pid"
    stop_daemon slurmctld "$state/slurmctld.pid"
    stop_daemon munged "$state/munged.pid"  # only there if this script started munged
    if ours && grep -qxF "StateSaveLocation=$state/ctld" "$conf"; then rm -f "$conf"; fi  # this folder's node's
    if [ -f "$state/munge-key-created" ]; then rm -f "$key" "$state/munge-key-created"; fi
}

ours() { [ -f "$conf" ] && [ "$(head -n 1 "$conf")" = "$mark" ]; }

write_config() {
    local cpus memory
    cpus=$(nproc)
    # Below what slurmd detects, or the node is drained for having less memory than configured.
    memory=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') * 9 / 10 ))
    mkdir -p "$state/ctld" "$state/spool" "$state/logs"
    mkdir -p "$(dirname "$conf")"
    cat > "$conf" << EOF
$mark
ClusterName=layerwise
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/logs/slurmctld.log
SlurmdLogFile=$state/logs/slurmd.log
# No cgroups and no accounting database: nothing beyond the three daemons.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# Finished jobs stay visible to squeue this long (s): Snakemake's executor reads their state there, and a
# test reads every job of a run that may take many minutes on a loaded machine.
MinJobAge=3600
NodeName=localhost CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
        return 0  # a munged is already serving (this script's or the machine's)
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    if [ ! -s "$key" ]; then
        mungekey --create --keyfile "$key"
        chown munge:munge "$key"
        chmod 0400 "$key"
        touch "$state/munge-key-created"  # stop removes it
    fi
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged --pid-file /run/munge/munged.pid
    # munged writes its pid file as the munge user, where it may; keep the pid in ours
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$state/munged.pid"
}

wait_until_ready() {
    for _ in $(seq 300); do
        if [ "$(sinfo --noheader --partition local --format %t 2> /dev/null)" = idle ]; then
            break
        fi
        sleep 0.2
    done
    sinfo --noheader --partition local --format %t | grep -qx idle || {
        echo "slurm-localhost: the node did not become idle; see $state/logs/" >&2
        return 1
    }
    timeout 60 sbatch --quiet --wait --partition local --output /dev/null --wrap true || {
        echo "slurm-localhost: a test job did not run; see $state/logs/" >&2
        return 1
    }
}

start() {
    [ "$(id -u)" = 0 ] || fail "run as root (slurmd starts jobs as the user who submitted them)"
    mkdir -p "$(dirname "$state")"
    mkdir -m 0700 "$state" 2> /dev/null || true  # fails if it exists: then it must pass the check as it is
    check_state
    "$here/install-debian.sh" slurmctld slurmctld slurmd slurm-client munge
    command -v slurmctld > /dev/null || fail "SLURM could not be installed"
    if running "$state/slurmctld.pid" && running "$state/slurmd.pid"; then
        wait_until_ready
    else
        if [ -f "$conf" ] && ! ours; then
            echo "slurm-localhost: $conf is another cluster's configuration; this script leaves it alone" >&2
            exit 1
        fi
        other=$(sed -n 's/^SlurmctldPidFile=//p' "$conf" 2> /dev/null || true)
        if [ -n "$other" ] && [ "$other" != "$state/slurmctld.pid" ] && running "$other"; then
            echo "slurm-localhost: a cluster from $(dirname "$other") is running; stop it first" >&2
            exit 1
        fi
        stop
        write_config
        start_munge
        slurmctld
        slurmd -N localhost
        wait_until_ready
    fi
    echo "slurm-localhost: partition local on localhost is ready ($state)"
}

case $action in
    start) start ;;
    stop)
        [ "$(id -u)" = 0 ] || fail "run as root (the daemons run as root)"
        stop
        ;;
    *) echo "usage: slurm-localhost.sh start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
