#!/usr/bin/env bash
# Upload throughput and memory of the Blob sink against Azurite, same run, same files:
#   periscope-bench upload …      (the agent's BlobBundleExporter: from the file, 4 MiB blocks, 2 in flight)
#   node upload-js.mjs …          (@azure/storage-blob's BlockBlobClient.uploadFile, same block size and concurrency)
# on incompressible 20 MiB and 100 MiB files (a bundle is a zip). Goals: throughput ratio ours/JS at least 1.0;
# our peak RSS flat from 20 to 100 MiB. Usage: bench/upload.sh [RUNS=5]
source "$(dirname "$0")/common.sh"
runs="${1:-5}"
ensure_time
start_azurite
trap 'kill $azurite_pid 2>/dev/null || true' EXIT
dotnet publish "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -r linux-x64 -o "$work/bin" -nologo -v quiet -clp:NoSummary >&2
echo -n "$connection" > "$work/connection-string"
create_container "$connection" bench

for size in 20 100; do
  file="$work/bundle-$size.bin"
  [ -f "$file" ] || head -c "$((size * 1024 * 1024))" /dev/urandom > "$file"
  rm -f "$work/up-ours-$size.times" "$work/up-js-$size.times" "$work/up-ours-$size.secs" "$work/up-js-$size.secs"
  for i in $(seq "$runs"); do
    measure "$work/up-js-$size" node "$tools/bench-js/upload-js.mjs" "$connection" bench "$file" "js-$size-$i-$$/bench.zip"
    cat "$work/up-js-$size.out" >> "$work/up-js-$size.secs"
    measure "$work/up-ours-$size" "$work/bin/periscope-bench" upload "$work/connection-string" bench "$file" "ours-$size-$i-$$"
    cat "$work/up-ours-$size.out" >> "$work/up-ours-$size.secs"
  done
  o=$(median < "$work/up-ours-$size.secs"); j=$(median < "$work/up-js-$size.secs")
  om=$(cut -d' ' -f2 "$work/up-ours-$size.times" | median); jm=$(cut -d' ' -f2 "$work/up-js-$size.times" | median)
  mibs() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", s / t }'; }
  echo "$size MiB, $runs runs, medians: periscope ${o} s ($(mibs "$o") MiB/s), ${om} KiB peak RSS; @azure/storage-blob uploadFile ${j} s ($(mibs "$j") MiB/s), ${jm} KiB peak RSS; throughput ratio periscope/js $(awk -v a="$o" -v b="$j" 'BEGIN { printf "%.2f", b / a }')"
done
