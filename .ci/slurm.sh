#!/usr/bin/env bash
# A one-node Slurm for the cluster tests (tests/cluster/): Debian's slurmctld, slurmd,
# slurm-client and munge, started as root without systemd.
#
#   .ci/slurm.sh start    install (apt, once) and start munged, slurmctld, slurmd; wait for `idle`
#                         (--restart: rewrite the config and restart even when healthy)
#   .ci/slurm.sh stop     stop the daemons this script started (by their pid files)
#   .ci/slurm.sh status   exit 0 when the cluster answers (munge -n, sinfo), else 1
#
# Idempotent: `start` on a healthy cluster changes nothing. Health is checked with
# `munge -n` and `sinfo`, never pgrep (daemonized parents can linger as zombies here).
# Facts behind the config: ../shared/SLURM-NOTES.md (Debian 12, slurm-wlm 22.05).
set -euo pipefail

STATE=/run/expctl-slurm.started   # written by `start` when it started the daemons
CONF=/etc/slurm/slurm.conf

healthy() {
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || return 1
  local state
  state="$(timeout 10 sinfo -h -o %T 2>/dev/null | head -n1)" || return 1
  case "$state" in idle|mixed|allocated|alloc|completing) return 0 ;; *) return 1 ;; esac
}

install_packages() {
  if command -v slurmctld >/dev/null 2>&1 || [ -x /usr/sbin/slurmctld ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo ".ci/slurm.sh: Slurm is not installed and this is not root with apt-get" >&2
    return 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  install -d /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
  cat > "$CONF" <<CONF
# written by expctl's .ci/slurm.sh: a one-node cluster for tests
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
JobAcctGatherType=jobacct_gather/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
KillWait=5
MinJobAge=600
SchedulerParameters=sched_interval=1
# the tests' jobs sleep more than they compute: 8 slots on any machine (config_overrides)
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  if healthy && [ "${1:-}" != "--restart" ]; then echo ".ci/slurm.sh: cluster already up"; return 0; fi
  install_packages
  if [ "$(id -u)" -ne 0 ]; then echo ".ci/slurm.sh: starting the daemons needs root" >&2; return 1; fi
  # munge: key owned by munge, mode 400; /run/munge is not made for us (no systemd-tmpfiles)
  [ -f /etc/munge/munge.key ] || mungekey --create
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
  fi
  write_conf
  rm -f /var/log/slurm/jobcomp.log
  stop_slurm_daemons
  /usr/sbin/slurmctld -c
  /usr/sbin/slurmd -N localhost
  for _ in $(seq 1 100); do
    if healthy; then touch "$STATE"; echo ".ci/slurm.sh: cluster up ($(sinfo -h -o '%P %D %c %T' | head -n1))"; return 0; fi
    sleep 0.2
  done
  echo ".ci/slurm.sh: the cluster did not come up; see /var/log/slurm/" >&2
  return 1
}

kill_pidfile() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

stop_slurm_daemons() {
  kill_pidfile /run/slurmd.pid
  kill_pidfile /run/slurmctld.pid
}

stop() {
  if [ ! -f "$STATE" ]; then echo ".ci/slurm.sh: not started by this script; leaving it"; return 0; fi
  stop_slurm_daemons
  kill_pidfile /run/munge/munged.pid
  rm -f "$STATE"
  echo ".ci/slurm.sh: stopped"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop ;;
  status) healthy ;;
  *) echo "usage: .ci/slurm.sh start|stop|status" >&2; exit 2 ;;
esac
