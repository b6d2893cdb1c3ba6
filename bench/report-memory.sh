#!/usr/bin/env bash
# Peak memory of `periscope-collector report` over bundles whose findings are as large as a reader accepts
# (findings.json of FINDINGS_MIB, 5,000 findings each): the adversarial case of a run whose nodes carry the most the
# bundle limits allow. Prints, per node count and format, the median peak RSS and wall time of RUNS runs, and the
# per-node growth, to check it against the formula in docs/bundle.md (base + nodes x a few x findings.json).
# Usage: bench/report-memory.sh [RUNS=3] [FINDINGS_MIB=15] [SIZES="1 8"]
source "$(dirname "$0")/common.sh"
runs="${1:-3}"
mib="${2:-15}"
sizes="${3:-1 8}"
ensure_time
dotnet build "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -nologo -v quiet -clp:NoSummary >&2
dotnet publish "$repo/collector/Periscope.Collector/Periscope.Collector.csproj" -c Release -o "$work/collector" -nologo -v quiet -clp:NoSummary >&2
bench="$repo/bench/Periscope.Benchmarks/bin/Release/net10.0/periscope-bench.dll"
for n in $sizes; do
  store="$work/heavy-$n"
  rm -rf "$store"
  dotnet "$bench" generate-heavy "$store" run "$n" "$mib"
  for format in json html markdown; do
    rm -f "$work/heavy.times"
    for _ in $(seq "$runs"); do
      /usr/bin/time -f "%e %M" -o "$work/heavy.last" dotnet "$work/collector/periscope-collector.dll" report --store "$store" --format "$format" --out "$work/heavy.$format" 2> /dev/null || true
      cat "$work/heavy.last" >> "$work/heavy.times"
    done
    t=$(cut -d' ' -f1 "$work/heavy.times" | median); m=$(cut -d' ' -f2 "$work/heavy.times" | median)
    echo "$n nodes x ${mib} MiB findings, $format: median ${t} s, $((m / 1024)) MiB peak RSS"
  done
done
