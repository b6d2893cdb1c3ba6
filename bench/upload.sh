#!/usr/bin/env bash
# Upload throughput and memory of the Blob sink against Azurite, same run, same files:
#   periscope-bench upload …      (the agent's BlobBundleExporter: from the file, 4 MiB blocks, 2 in flight)
#   node upload-js.mjs …          (@azure/storage-blob's BlockBlobClient.uploadFile, same block size and concurrency)
# on incompressible 20 MiB and 100 MiB files (a bundle is a zip). Goals: throughput ratio ours/JS at least 1.0;
# our peak RSS flat from 20 to 100 MiB. Usage: bench/upload.sh [RUNS=5]
source "$(dirname "$0")/common.sh"
runs="${1:-5}"
ensure_time
tools="$repo/.tools"
[ -x "$tools/azurite/node_modules/.bin/azurite-blob" ] || npm install --prefix "$tools/azurite" --no-audit --no-fund --loglevel=error azurite@3.37.0 >&2
[ -d "$tools/bench-js/node_modules/@azure/storage-blob" ] || npm install --prefix "$tools/bench-js" --no-audit --no-fund --loglevel=error @azure/storage-blob@12 >&2
cp "$repo/bench/upload-js.mjs" "$tools/bench-js/upload-js.mjs"
dotnet publish "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -r linux-x64 -o "$work/bin" -nologo -v quiet -clp:NoSummary >&2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$work/azurite" && mkdir -p "$work/azurite"
"$tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$work/azurite" \
  --disableTelemetry --skipApiVersionCheck --loose > "$work/azurite.log" 2>&1 &
azurite=$!
trap 'kill $azurite 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
echo -n "$connection" > "$work/connection-string"
(cd "$tools/bench-js" && node --input-type=module -e "import { BlobServiceClient } from '@azure/storage-blob';
  await BlobServiceClient.fromConnectionString(process.argv[1]).getContainerClient('bench').createIfNotExists();" "$connection")

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
