#!/usr/bin/env python3
"""Writes a synthetic kernel log in /dev/kmsg record format (prio,seq,usec,flags;text) of about SIZE MiB to PATH.

A deterministic mix: mostly benign kernel chatter, and about 1 in 2,000 records a line that a rule classifies
(OOM kills, I/O errors, lockups, link flaps, ...). All records are kernel facility, so grep and the agent count the
same lines. Usage: generate-kmsg.py PATH SIZE_MIB
"""
import random
import sys

BENIGN = [
    "EXT4-fs (sda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
    "hv_netvsc 000d3a12-3456-7890-abcd-ef0123456789 eth0: Data path switched to VF: enP1s1",
    "cni0: port {n}(veth{h}) entered forwarding state",
    "device veth{h} entered promiscuous mode",
    "IPVS: rr: TCP 10.0.{n}.1:443 - no destination available",
    "audit: type=1400 audit({n}.123:45): apparmor=\"STATUS\" operation=\"profile_load\" name=\"cri-containerd.apparmor.d\"",
    "TCP: request_sock_TCP: Possible SYN flooding on port {n}. Sending cookies.  Check SNMP counters.",
    "xt_addrtype: ipv6 does not support BROADCAST matching",
    "overlayfs: upper fs does not support RENAME_WHITEOUT.",
    "systemd-journald[{n}]: Received client request to flush runtime journal.",
    "scsi 0:0:0:{n}: Direct-Access     Msft     Virtual Disk     1.0  PQ: 0 ANSI: 5",
]
EVENTS = [
    "Memory cgroup out of memory: Killed process {n} (stress) total-vm:1052000kB, anon-rss:524288kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:1100kB oom_score_adj:939",
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod{h},task_memcg=/kubepods/burstable/pod{h}/{h},task=app,pid={n},uid=0",
    "blk_update_request: I/O error, dev sdb, sector {n} op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0",
    "INFO: task kworker/u8:2:{n} blocked for more than 120 seconds.",
    "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [containerd:{n}]",
    "e1000e: eth0 NIC Link is Down",
    "nf_conntrack: nf_conntrack: table full, dropping packet",
    "EXT4-fs error (device sdb1): ext4_find_entry:1455: inode #{n}: comm ls: reading directory lblock 0",
    "unregister_netdevice: waiting for veth{h} to become free. Usage count = 1",
    "app[{n}]: segfault at 0 ip 000055d1c2a3b4c5 sp 00007ffd12345678 error 4 in app[55d1c2a00000+10000]",
]


def main() -> None:
    path, size_mib = sys.argv[1], int(sys.argv[2])
    target = size_mib * 1024 * 1024
    rng = random.Random(42)
    written = 0
    seq = 0
    usec = 0
    with open(path, "w", encoding="ascii", buffering=4 * 1024 * 1024) as out:
        while written < target:
            seq += 1
            usec += rng.randint(1, 50000)
            template = rng.choice(EVENTS) if rng.random() < 0.0005 else rng.choice(BENIGN)
            text = template.format(n=rng.randint(1, 65535), h=f"{rng.getrandbits(32):08x}")
            line = f"{rng.randint(3, 6)},{seq},{usec},-;{text}\n"
            out.write(line)
            written += len(line)


if __name__ == "__main__":
    main()
