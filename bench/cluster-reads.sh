#!/usr/bin/env bash
# The collector's cluster-scoped reads at scale: a fake API server (bench/fake-cluster.py) with NODES nodes, PODS pods,
# PDBS PodDisruptionBudgets and EVENTS Node events, and `periscope-collector report --expected-nodes kubernetes` over a
# one-node run: wall time and peak RSS (median and max of RUNS) of the whole report, the API requests it made (paged
# lists only: the goal is one request per 500 objects and none per node), and, in the same run, the same report
# without the nodes list (--expected-nodes previous-run) as the baseline of what the reads add.
# Usage: bench/cluster-reads.sh [RUNS=3] [NODES=5000] [PODS=50000] [PDBS=2000] [EVENTS=20000]
source "$(dirname "$0")/common.sh"
runs="${1:-3}"; nodes="${2:-5000}"; pods="${3:-50000}"; pdbs="${4:-2000}"; events="${5:-20000}"
ensure_time
dotnet publish "$repo/collector/Periscope.Collector/Periscope.Collector.csproj" -c Release -o "$work/collector" -nologo -v quiet -clp:NoSummary >&2
dotnet build "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -nologo -v quiet -clp:NoSummary >&2

store="$work/cluster-store"
rm -rf "$store"
dotnet "$repo/agent/Periscope.Agent/bin/Release/net10.0/periscope-agent.dll" collect --host-root "$repo/tests/fixtures/nodes/fault-node" --offline \
  --since=2025-11-20T00:00:00Z --until=2025-11-21T00:00:00Z --out "$store" --run-id cluster-1 --node aks-pool1-000001 > /dev/null 2>&1 || true

rm -f "$work/cluster.port"
python3 "$repo/bench/fake-cluster.py" "$work/cluster.port" "$nodes" "$pods" "$pdbs" "$events" & api_pid=$!
trap 'kill $api_pid 2> /dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$work/cluster.port" ] && break; sleep 0.1; done
port=$(cat "$work/cluster.port")
cat > "$work/cluster.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:$port" } }]
users: [{ name: collector, user: { token: bench } }]
contexts: [{ name: fake, context: { cluster: fake, user: collector } }]
current-context: fake
KUBECONFIG

count() { curl -s "http://127.0.0.1:$port/bench/log" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
rm -f "$work"/cluster.{with,without}.times
for i in $(seq "$runs"); do
  before=$(count)
  measure "$work/cluster.with" dotnet "$work/collector/periscope-collector.dll" report --store "$store" --run-id cluster-1 --format json \
    --expected-nodes kubernetes --kubeconfig "$work/cluster.kubeconfig"
  requests=$(( $(count) - before ))
  measure "$work/cluster.without" dotnet "$work/collector/periscope-collector.dll" report --store "$store" --run-id cluster-1 --format json --expected-nodes previous-run
done
codes=$(python3 -c "import json,sys; print(' '.join(sorted({c['code'] for c in json.load(open(sys.argv[1]))['correlations']})))" "$work/cluster.with.out")
tables=$(curl -s "http://127.0.0.1:$port/bench/log" | python3 -c "import json,sys; l=json.load(sys.stdin); p=[r for r in l if r['path']=='/api/v1/pods']; print(sum('as=Table' in r['accept'] for r in p), 'of', len(p))")
echo "cluster reads ($nodes nodes, $pods pods, $pdbs PDBs, $events events): report $(cut -d' ' -f1 "$work/cluster.with.times" | median) s median, $(cut -d' ' -f1 "$work/cluster.with.times" | sort -g | tail -1) s max;" \
  "peak RSS $(cut -d' ' -f2 "$work/cluster.with.times" | median | awk '{ printf "%.0f", $1 / 1024 }') MiB median, $(cut -d' ' -f2 "$work/cluster.with.times" | sort -g | tail -1 | awk '{ printf "%.0f", $1 / 1024 }') MiB max; $requests requests per report (pod pages as a Table: $tables)"
echo "without the cluster (previous-run): $(cut -d' ' -f1 "$work/cluster.without.times" | median) s, $(cut -d' ' -f2 "$work/cluster.without.times" | median | awk '{ printf "%.0f", $1 / 1024 }') MiB ($runs runs each, alternating)"
echo "codes: $codes"
