#!/usr/bin/env bash
# Kernel-log classification, same run, same file, both whole processes, LC_ALL=C:
#   periscope-bench classify FILE   (the kernel collector's own text path, evidence off: classification only)
#   grep -E -c -f PATTERNS FILE     (the rule table's patterns exported as POSIX ERE)
# Usage: bench/kernel-classify.sh [SIZE_MIB=512] [RUNS=5]
source "$(dirname "$0")/common.sh"
size="${1:-512}"
runs="${2:-5}"
ensure_time
log="$work/kmsg-$size.log"
[ -f "$log" ] || python3 "$repo/bench/generate-kmsg.py" "$log" "$size"
dotnet publish "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -r linux-x64 -o "$work/bin" -nologo -v quiet -clp:NoSummary >&2
"$work/bin/periscope-bench" export-patterns > "$work/patterns.ere"
rm -f "$work"/ours.times "$work"/grep.times "$work"/full.times
export LC_ALL=C
for _ in $(seq "$runs"); do
  measure "$work/grep" grep -E -c -f "$work/patterns.ere" "$log"
  measure "$work/ours" "$work/bin/periscope-bench" classify "$log"
  measure "$work/full" "$work/bin/periscope-bench" classify "$log" "$work/evidence.log"
done
grep_count=$(cat "$work/grep.out"); ours_count=$(cat "$work/ours.out")
[ "$grep_count" = "$ours_count" ] || { echo "MISMATCH: grep counted $grep_count lines, periscope $ours_count" >&2; exit 1; }
g=$(cut -d' ' -f1 "$work/grep.times" | median); o=$(cut -d' ' -f1 "$work/ours.times" | median); f=$(cut -d' ' -f1 "$work/full.times" | median)
gm=$(cut -d' ' -f2 "$work/grep.times" | median); om=$(cut -d' ' -f2 "$work/ours.times" | median); fm=$(cut -d' ' -f2 "$work/full.times" | median)
echo "file: $(stat -c %s "$log") bytes, $(wc -l < "$log") lines; both count $ours_count matching lines; $runs runs each, medians"
echo "grep -E -c -f      : ${g} s, ${gm} KiB max RSS"
echo "periscope classify : ${o} s, ${om} KiB max RSS (ratio to grep $(awk -v a="$o" -v b="$g" 'BEGIN { printf "%.2f", a / b }'))"
echo "periscope + evidence file: ${f} s, ${fm} KiB max RSS (the collector's whole text path)"
