#!/usr/bin/env bash
# Redaction throughput with all default rules on SIZE_MIB MiB of mixed node log text, same run, same file, both whole
# processes writing the redacted copy to a file, LC_ALL=C:
#   periscope-bench redact IN OUT   (the agent's RedactingStream, exactly as evidence files pass through it)
#   sed -E -f bench/redact.sed IN   (the same rules as POSIX ERE)
# Goal: at least 200 MiB/s. Usage: bench/redact.sh [SIZE_MIB=512] [RUNS=5]
source "$(dirname "$0")/common.sh"
size="${1:-512}"
runs="${2:-5}"
ensure_time
log="$work/mixed-$size.log"
[ -f "$log" ] || python3 "$repo/bench/generate-mixed-log.py" "$log" "$size"
dotnet publish "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -r linux-x64 -o "$work/bin" -nologo -v quiet -clp:NoSummary >&2
rm -f "$work"/redact-ours.times "$work"/redact-sed.times
export LC_ALL=C
for _ in $(seq "$runs"); do
  measure "$work/redact-sed" sed -E -f "$repo/bench/redact.sed" "$log"
  measure "$work/redact-ours" "$work/bin/periscope-bench" redact "$log" "$work/redacted.log"
done
bytes=$(stat -c %s "$log")
o=$(cut -d' ' -f1 "$work/redact-ours.times" | median); s=$(cut -d' ' -f1 "$work/redact-sed.times" | median)
om=$(cut -d' ' -f2 "$work/redact-ours.times" | median); sm=$(cut -d' ' -f2 "$work/redact-sed.times" | median)
mib() { awk -v b="$bytes" -v t="$1" 'BEGIN { printf "%.0f", b / 1048576 / t }'; }
echo "file: $bytes bytes, $(wc -l < "$log") lines; $runs runs each, medians"
echo "periscope redact : ${o} s ($(mib "$o") MiB/s), ${om} KiB max RSS; $(cat "$work/redact-ours.err" | tail -1)"
echo "sed -E -f        : ${s} s ($(mib "$s") MiB/s), ${sm} KiB max RSS (ratio periscope/sed $(awk -v a="$o" -v b="$s" 'BEGIN { printf "%.2f", a / b }'))"
echo "lines with a marker: periscope $(grep -c 'REDACTED:' "$work/redacted.log"), sed $(grep -c 'REDACTED:' "$work/redact-sed.out")"
