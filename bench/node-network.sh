#!/usr/bin/env bash
# The kubelet, dns and cni collectors together, Native AOT, on a node root with 110 pods' worth of CNI state
# (host-local allocations, veth interfaces) and a 200 MiB kubelet journal, probing a dnsmasq on 127.0.0.61:
# median wall time and peak RSS over RUNS runs. Goal: under 1 s and under 80 MiB.
# Same run, for scale: journalctl alone printing the newest 200,000 kubelet entries as JSON (the agent's journal
# query, without its 16 MiB output cap). Needs root (dnsmasq binds port 53 on a loopback address).
# Usage: bench/node-network.sh [RUNS=11]
source "$(dirname "$0")/common.sh"
runs="${1:-11}"
ensure_time
node="$work/netnode"
end=1763683200 # 2025-11-21T00:00:00Z
machine=0123456789abcdef0123456789abcdef
if [ ! -f "$node/var/log/journal/$machine/system.journal" ]; then
  rm -rf "$node" && mkdir -p "$node/var/log/journal/$machine" "$node/proc" "$node/etc/cni/net.d" "$node/opt/cni/bin" \
    "$node/var/lib/cni/networks/kubenet" "$node/var/lib/kubelet" "$node/proc/net"
  python3 "$repo/bench/generate-kubelet-journal.py" 275 "$end" > "$work/kubelet.export"
  /lib/systemd/systemd-journal-remote -o "$node/var/log/journal/$machine/system.journal" "$work/kubelet.export" 2>/dev/null
  rm -f "$work/kubelet.export"
  printf 'kind: KubeletConfiguration\nclusterDNS:\n- 127.0.0.61\nclusterDomain: cluster.local\nmaxPods: 110\n' > "$node/var/lib/kubelet/config.yaml"
  printf 'nameserver 127.0.0.61\nsearch corp.example\n' > "$node/etc/resolv.conf"
  cat > "$node/etc/cni/net.d/10-kubenet.conflist" <<'JSON'
{"cniVersion":"0.3.1","name":"kubenet","plugins":[{"type":"bridge","bridge":"cbr0","mtu":1500,"isGateway":true,
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}
JSON
  for p in bridge host-local portmap loopback; do printf '#!/bin/sh\n' > "$node/opt/cni/bin/$p"; chmod 755 "$node/opt/cni/bin/$p"; done
  printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' > "$node/proc/net/route"
  for i in $(seq 2 111); do
    printf 'c0ffee%058d\neth0' "$i" > "$node/var/lib/cni/networks/kubenet/10.244.1.$i"
  done
  for n in eth0 cbr0 $(seq -f 'veth%05g' 1 110); do
    d="$node/sys/class/net/$n"; mkdir -p "$d/statistics"; echo up > "$d/operstate"; echo 1500 > "$d/mtu"
    for c in rx_packets tx_packets; do echo 1000000 > "$d/statistics/$c"; done
    for c in rx_errors tx_errors rx_dropped tx_dropped; do echo 0 > "$d/statistics/$c"; done
  done
fi
echo "kubelet journal: $(du -sm "$node/var/log/journal" | cut -f1) MiB" >&2

dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/agent" -nologo -v quiet -clp:NoSummary >&2
dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=127.0.0.61 \
  --port=53 --user=root --group=root --pid-file= --local=/local/ --local=/periscope/ \
  --host-record=kubernetes.default.svc.cluster.local,10.0.0.1 --host-record=registry.periscope,10.0.0.2 &
dnsmasq_pid=$!
trap 'kill $dnsmasq_pid 2>/dev/null || true' EXIT
sleep 0.5

rm -rf "$work/store" "$work"/netnode-collect.times "$work"/netnode-journalctl.times
export Periscope__Collectors__Dns__ExternalName=registry.periscope
for i in $(seq "$runs"); do
  measure "$work/netnode-collect" "$work/agent/periscope-agent" collect --host-root "$node" --collectors kubelet,dns,cni \
    --since 2025-11-20T00:00:00Z --until 2025-11-21T00:00:00Z --out "$work/store" --run-id "net-$i" --node bench
  measure "$work/netnode-journalctl" journalctl --directory="$node/var/log/journal" --output=json \
    --output-fields=MESSAGE,PRIORITY,SYSLOG_FACILITY,_TRANSPORT --no-pager --quiet --all --since=@1763596800 --until=@$end \
    --reverse --lines=200000 --unit=kubelet
done
cat "$work/netnode-collect.err" | tail -5 >&2
w=$(cut -d' ' -f1 "$work/netnode-collect.times" | median); m=$(cut -d' ' -f2 "$work/netnode-collect.times" | median)
jw=$(cut -d' ' -f1 "$work/netnode-journalctl.times" | median); jm=$(cut -d' ' -f2 "$work/netnode-journalctl.times" | median)
echo "kubelet+dns+cni collect (AOT, $runs runs): median ${w} s wall, median ${m} KiB peak RSS"
echo "journalctl alone, newest 200,000 kubelet entries as JSON (same runs): median ${jw} s wall, median ${jm} KiB peak RSS; output $(stat -c %s "$work/netnode-journalctl.out") bytes"
awk -v a="$w" -v b="$jw" 'BEGIN { if (b > 0) printf "ratio collect / journalctl: %.2f\n", a / b }'
