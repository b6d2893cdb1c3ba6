#!/usr/bin/env bash
# Whole 'collect' of the Native-AOT agent on the fault-node fixture (offline replay, all collectors):
# median wall time and peak RSS over RUNS runs. Goal: under 1 s wall and under 60 MiB peak RSS.
# Usage: bench/collect.sh [RUNS=15]
source "$(dirname "$0")/common.sh"
runs="${1:-15}"
ensure_time
dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/agent" -nologo -v quiet -clp:NoSummary >&2
rm -rf "$work/store" "$work"/collect.times
for i in $(seq "$runs"); do
  measure "$work/collect" "$work/agent/periscope-agent" collect --host-root "$repo/tests/fixtures/nodes/fault-node" --offline \
    --since 2025-11-20T00:00:00Z --until 2025-11-21T00:00:00Z --out "$work/store" --run-id "bench-$i"
done
w=$(cut -d' ' -f1 "$work/collect.times" | median); m=$(cut -d' ' -f2 "$work/collect.times" | median)
mx=$(cut -d' ' -f2 "$work/collect.times" | sort -g | tail -1)
echo "collect (AOT, fault-node fixture, $runs runs): median ${w} s wall, median ${m} KiB peak RSS (max ${mx} KiB)"
echo "binary: $(stat -c %s "$work/agent/periscope-agent") bytes"
