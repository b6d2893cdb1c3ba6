#!/usr/bin/env bash
# The collector's report over a large run: NODES bundles shaped like a real one (the agent's bundle of the fault-node
# fixture: its manifest, facts and findings, 50 pools, every third node with findings) with EVIDENCE_KIB of evidence
# each, in a directory store. Measures `periscope-collector report --format json` wall time and peak RSS (median of
# RUNS) for each size, and how many bytes of the bundles it read (/proc/PID/io rchar against the store's size).
# Goals: 5,000 nodes under 30 s and 1 GiB; linear from 500 to 5,000; reading only zip directories and JSON entries.
#
# MODE=blob reads the same runs from Blob Storage: Azurite on loopback, each run uploaded as the agent uploads (zip,
# then status record with its metadata; `periscope-bench upload-store`). Per size, alternating, RUNS times each:
#   periscope-collector report --format json from the container   (time, peak RSS)
#   node download-js.mjs: list the run, download every blob whole, 32 at once (@azure/storage-blob, same run)
# then both again through latency-proxy.mjs (DELAY_MS added to every request, like a storage account in another zone);
# Azurite's own ceiling (requests a second, 64 at once); and `serve`'s refresh: the report once, 50 more bundles
# uploaded, the report again (curl's time). Goals: ratio periscope/js at most 0.5 at 1,000 and 5,000 nodes; 5,000
# nodes under 60 s with 20 ms per request; peak RSS under 256 MiB; the refresh under 2 s.
# Usage: bench/report-scale.sh [RUNS=3] [EVIDENCE_KIB=100] [SIZES="500 5000"] [MODE=dir|blob] [DELAY_MS=20]
source "$(dirname "$0")/common.sh"
runs="${1:-3}"
evidence="${2:-100}"
sizes="${3:-500 5000}"
mode="${4:-dir}"
delay="${5:-20}"
ensure_time
dotnet build "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -nologo -v quiet -clp:NoSummary >&2
dotnet publish "$repo/collector/Periscope.Collector/Periscope.Collector.csproj" -c Release -o "$work/collector" -nologo -v quiet -clp:NoSummary >&2
bench="$repo/bench/Periscope.Benchmarks/bin/Release/net10.0/periscope-bench.dll"

# One real bundle as the template.
rm -rf "$work/template"
dotnet "$repo/agent/Periscope.Agent/bin/Release/net10.0/periscope-agent.dll" collect --host-root "$repo/tests/fixtures/nodes/fault-node" --offline \
  --since=2025-11-20T00:00:00Z --until=2025-11-21T00:00:00Z --out "$work/template" --run-id template > /dev/null 2>&1 || true
template="$work/template/template/fault-node.zip"

if [ "$mode" = blob ]; then
  source "$repo/bench/report-blob.sh"
  exit 0
fi

for n in $sizes; do
  store="$work/scale-$n"
  if [ ! -d "$store/run-$n" ]; then
    rm -rf "$store"
    dotnet "$bench" generate-run "$template" "$store" "run-$n" "$n" "$evidence"
  fi
  bytes=$(du -sb "$store" | cut -f1)
  rm -f "$work/report-$n.times" "$work/report-$n.io"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/report-$n.last" \
      bash -c 'dotnet "$0/periscope-collector.dll" report --store "$1" --format json --out "$2" & pid=$!; rchar=0; while kill -0 $pid 2>/dev/null; do r=$(awk "/^rchar/ {print \$2}" /proc/$pid/io 2>/dev/null || true); [ -n "$r" ] && rchar=$r; sleep 0.2; done; wait $pid; echo $rchar > "$2.io"' \
      "$work/collector" "$store" "$work/report-$n.json" || true
    cat "$work/report-$n.last" >> "$work/report-$n.times"
    cat "$work/report-$n.json.io" >> "$work/report-$n.io"
  done
  t=$(cut -d' ' -f1 "$work/report-$n.times" | median); m=$(cut -d' ' -f2 "$work/report-$n.times" | median)
  io=$(median < "$work/report-$n.io")
  echo "$n nodes ($((bytes / 1048576)) MiB store): median ${t} s, ${m} KiB peak RSS; read about $((io / n)) bytes per bundle of $((bytes / n)) ($(awk -v a="$io" -v b="$bytes" 'BEGIN { printf "%.1f", 100 * a / b }') % of the store)"
done
