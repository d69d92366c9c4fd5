#!/usr/bin/env bash
# A real single-node Slurm on 127.0.0.1 without systemd, for the Slurm test.
#   cluster.sh start DIR   write the config, start munged, slurmctld, slurmd (state, logs
#                          and PID files in DIR); wait for an idle node
#   cluster.sh stop DIR    stop what `start DIR` started, by the PIDs in DIR/*.pid
# The configuration is written to /etc/slurm/slurm.conf, the default path,
# because the plugin's job step deletes every SLURM_* variable (SLURM_CONF too)
# before it calls srun inside the job. An /etc/slurm/slurm.conf not written by
# this script is never overwritten (start fails). Needs root and Debian's
# slurm-wlm and munge (tests/slurm/setup.sh installs them).
set -euo pipefail

action=${1:?usage: cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: cluster.sh start|stop DIR}")
conf=/etc/slurm/slurm.conf
marker="# written by labelnoise tests/slurm/cluster.sh"

stop_pid_file() {  # stop the process in pid file $1 and wait for it to go
    local file=$1 pid
    [[ -s $file ]] || return 0
    pid=$(cat "$file")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

if [[ $action == stop ]]; then
    stop_pid_file "$dir/slurmd.pid"
    stop_pid_file "$dir/slurmctld.pid"
    stop_pid_file "$dir/munged.pid"
    if [[ -f $conf ]] && head -1 "$conf" | grep -qxF "$marker"; then
        rm -f "$conf" /etc/slurm/cgroup.conf /etc/slurm/gres.conf
    fi
    exit 0
fi
[[ $action == start ]] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "cluster.sh: needs root (slurmd runs jobs as their user)" >&2; exit 1; }

if [[ -e $conf ]] && ! head -1 "$conf" | grep -qxF "$marker"; then
    echo "cluster.sh: $conf exists and is not ours; not touching a real Slurm configuration" >&2
    exit 1
fi
mkdir -p "$dir"/{state,spool,log} /etc/slurm

# munge: reuse a running munged, else start our own (its PID goes to DIR/munged.pid).
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge /etc/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged --force
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$dir/munged.pid"
    munge -n | unmunge >/dev/null
fi

memory_mb=$(( $(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) - 2048 ))
cpus=$(nproc)
cat > "$conf" <<CONF
$marker
ClusterName=labelnoise
SlurmctldHost=localhost
SlurmctldAddr=127.0.0.1
SlurmUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/cgroup.conf <<CONF
$marker
CgroupPlugin=cgroup/v1
IgnoreSystemd=yes
CgroupAutomount=no
CONF

# Two GPUs declared on stand-in device files: the profile's `gpu: 1` requests of the
# training rules schedule as on a GPU cluster, and torch runs on the CPU.
cat > /etc/slurm/gres.conf <<CONF
$marker
NodeName=localhost Name=gpu File=/dev/null
NodeName=localhost Name=gpu File=/dev/zero
CONF

slurmctld -i
slurmd
for _ in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        echo "slurm up: $(sinfo -h -o '%P %D %T %c CPUs')"
        exit 0
    fi
    sleep 0.2
done
echo "cluster.sh: the node did not become idle; see $dir/log" >&2
sinfo >&2 || true
exit 1
