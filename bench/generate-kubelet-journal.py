#!/usr/bin/env python3
"""Writes a kubelet journal in journald's export format to stdout: TARGET_MB megabytes of realistic kubelet lines
(sync loop, probes, volume mounts, a PLEG storm and sandbox failures now and then), one entry every 0.25 s ending
at END_UNIX. Feed it to systemd-journal-remote to get a real journal file.
Usage: generate-kubelet-journal.py TARGET_MB END_UNIX"""
import random
import sys
import time

target = int(sys.argv[1]) * 1024 * 1024
end = int(sys.argv[2])
rng = random.Random(42)
pods = [(f"ns-{i % 12}", f"app-{i}-{rng.randrange(16**5):05x}") for i in range(110)]
lines = [
    'I{md} {t}    2211 kubelet.go:2400] "SyncLoop (PLEG): event for pod" pod="{ns}/{pod}" event={{"ID":"{uid}","Type":"ContainerStarted"}}',
    'I{md} {t}    2211 prober.go:107] "Probe failed" probeType="Readiness" pod="{ns}/{pod}" podUID="{uid}" containerName="app" probeResult="failure" output="HTTP probe failed with statuscode: 503"',
    'I{md} {t}    2211 reconciler_common.go:258] "operationExecutor.VerifyControllerAttachedVolume started for volume \\"kube-api-access\\"" pod="{ns}/{pod}"',
    'I{md} {t}    2211 kubelet.go:2352] "SyncLoop UPDATE" source="api" pods=["{ns}/{pod}"]',
    'I{md} {t}    2211 kuberuntime_manager.go:1000] "Creating PodSandbox for pod" pod="{ns}/{pod}"',
]
rare = [
    'I{md} {t}    2211 kubelet.go:2400] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m2.1s ago; threshold is 3m0s"',
    'E{md} {t}    2211 kuberuntime_sandbox.go:72] "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\\"bridge\\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254" pod="{ns}/{pod}"',
]
out = sys.stdout
count = int(target / 700)  # export entries are about 700 bytes each
start = end - count // 4
for i in range(count):
    ts = start + i // 4
    usec = ts * 1_000_000 + (i % 4) * 250_000
    ns, pod = pods[rng.randrange(len(pods))]
    template = rare[rng.randrange(2)] if rng.random() < 0.002 else lines[rng.randrange(len(lines))]
    tm = time.gmtime(ts)
    message = template.format(md=f"{tm.tm_mon:02d}{tm.tm_mday:02d}", t=f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{(i % 4) * 250000:06d}",
                              ns=ns, pod=pod, uid=f"{rng.randrange(16**8):08x}-0000-4000-8000-{rng.randrange(16**12):012x}")
    entry = (f"__REALTIME_TIMESTAMP={usec}\n__MONOTONIC_TIMESTAMP={usec - (end - 86400 * 30) * 1_000_000}\n"
             f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_MACHINE_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=aks-nodepool1-000001\n"
             f"_TRANSPORT=stdout\nPRIORITY={3 if message[0] == 'E' else 6}\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER=kubelet\n_PID=2211\n_UID=0\n_GID=0\n"
             f"_COMM=kubelet\n_EXE=/usr/local/bin/kubelet\n_CMDLINE=/usr/local/bin/kubelet --config=/var/lib/kubelet/config.yaml\n"
             f"_SYSTEMD_CGROUP=/system.slice/kubelet.service\n_SYSTEMD_UNIT=kubelet.service\n_SYSTEMD_SLICE=system.slice\n"
             f"MESSAGE={message}\n\n")
    out.write(entry)
