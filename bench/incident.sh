#!/usr/bin/env bash
# Incident time to first report (issue 21): `periscope-collector incident` with 100 nodes on the FAKE API server,
# while 100 simulated agents — the native agent's `collect` over the captured healthy node, at most PARALLEL at
# once — upload to Azurite. Median of RUNS runs: seconds to the report written, to the last agent's upload, and the
# command's own overhead (the report written minus the last upload).
#   bench/incident.sh [NODES=100] [PARALLEL=8] [RUNS=3]
source "$(dirname "$0")/common.sh"
nodes="${1:-100}"; parallel="${2:-8}"; runs="${3:-3}"
dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/aot" -nologo -v quiet -p:PublishAot=true >&2
dotnet build "$repo/bench/Periscope.Benchmarks.Incident/Periscope.Benchmarks.Incident.csproj" -c Release -o "$work/incident-bench" -nologo -v quiet -clp:NoSummary >&2
start_azurite
trap 'kill $azurite_pid 2>/dev/null || true' EXIT
echo -n "$connection" > "$work/blob-connection"
rm -f "$work/incident.times"
for i in $(seq "$runs"); do
  create_container "$connection" "incident-$i"
  rm -rf "$work/incident-$i"
  dotnet "$work/incident-bench/periscope-bench-incident.dll" "$nodes" "$parallel" "$work/aot/periscope-agent" \
    "$repo/tests/fixtures/nodes/healthy" "$work/blob-connection" "incident-$i" "$work/incident-$i" >> "$work/incident.times"
done
total=$(cut -d' ' -f1 "$work/incident.times" | median)
agents=$(cut -d' ' -f2 "$work/incident.times" | median)
overhead=$(cut -d' ' -f3 "$work/incident.times" | median)
echo "$nodes nodes, $parallel agents at once: report written after ${total} s (median of $runs); last agent upload at ${agents} s; the command's own overhead ${overhead} s"
