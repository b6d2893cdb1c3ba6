# The Blob mode of bench/report-scale.sh (sourced by it, with repo, work, runs, evidence, sizes, delay, bench and
# template set).
dotnet publish "$repo/bench/Periscope.Benchmarks/Periscope.Benchmarks.csproj" -c Release -r linux-x64 -o "$work/bin" -nologo -v quiet -clp:NoSummary >&2
start_azurite
proxy_pid=
serve_pid=
trap 'kill $azurite_pid $proxy_pid $serve_pid 2>/dev/null || true' EXIT
echo -n "$connection" > "$work/blob-connection"
proxy_port=$(free_port)
node "$tools/bench-js/latency-proxy.mjs" "$proxy_port" "$azurite_port" "$delay" > "$work/proxy.count" &
proxy_pid=$!
slow="${connection/127.0.0.1:$azurite_port/127.0.0.1:$proxy_port}"
echo -n "$slow" > "$work/blob-connection-slow"

# report through the connection file $1 for run-$2 into $3; appends "seconds maxrss" to $3.times
report() {
  /usr/bin/time -f "%e %M" -o "$3.last" dotnet "$work/collector/periscope-collector.dll" report \
    --blob-connection-string-file "$1" --blob-container "scale-$2" --run-id "run-$2" --format json --out "$3.json" 2> "$3.err" || true
  tail -1 "$3.last" >> "$3.times" # time writes "Command exited with non-zero status N" first when report exits 1 or 2
}

for n in $sizes; do
  store="$work/scale-$n"
  if [ ! -d "$store/run-$n" ]; then
    rm -rf "$store"
    dotnet "$bench" generate-run "$template" "$store" "run-$n" "$n" "$evidence"
  fi
  create_container "$connection" "scale-$n"
  "$work/bin/periscope-bench" upload-store "$work/blob-connection" "scale-$n" "$store" "run-$n" 32
  ceiling=$(cd "$tools/bench-js" && node azurite-ceiling.mjs "$connection" "scale-$n" "run-$n" 5000 64)
  rm -f "$work"/blob-"$n"-*.times "$work"/blob-"$n"-*.js
  for _ in $(seq "$runs"); do
    report "$work/blob-connection" "$n" "$work/blob-$n-ours"
    (cd "$tools/bench-js" && node download-js.mjs "$connection" "scale-$n" "run-$n" 32) >> "$work/blob-$n-fast.js"
    report "$work/blob-connection-slow" "$n" "$work/blob-$n-slow"
    (cd "$tools/bench-js" && node download-js.mjs "$slow" "scale-$n" "run-$n" 32) >> "$work/blob-$n-slow.js"
  done
  o=$(cut -d' ' -f1 "$work/blob-$n-ours.times" | median); om=$(cut -d' ' -f2 "$work/blob-$n-ours.times" | median)
  s=$(cut -d' ' -f1 "$work/blob-$n-slow.times" | median); sm=$(cut -d' ' -f2 "$work/blob-$n-slow.times" | median)
  j=$(cut -d' ' -f1 "$work/blob-$n-fast.js" | median); js=$(cut -d' ' -f1 "$work/blob-$n-slow.js" | median)
  jb=$(cut -d' ' -f2 "$work/blob-$n-fast.js" | median)
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
  echo "$n nodes: Azurite serves ${ceiling} requests/s (64 at once); JS downloads $((jb / 1048576)) MiB whole"
  echo "  loopback   : periscope ${o} s, ${om} KiB peak RSS; @azure/storage-blob ${j} s; ratio $(ratio "$o" "$j")"
  echo "  +${delay} ms/request: periscope ${s} s, ${sm} KiB peak RSS; @azure/storage-blob ${js} s; ratio $(ratio "$s" "$js")"
  grep -h "error\|Error" "$work/blob-$n-ours.err" | head -3 || true
done

# serve's refresh: the largest run's report, 50 more bundles, the report again.
n="${sizes##* }"
token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
echo -n "$token" > "$work/serve-token"
port=$(free_port)
Periscope__Server__PollInterval=00:00:10 dotnet "$work/collector/periscope-collector.dll" serve --listen "127.0.0.1:$port" --token-file "$work/serve-token" \
  --blob-connection-string-file "$work/blob-connection" --blob-container "scale-$n" > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/runs" && break; sleep 0.3; done
timed() { curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/runs/run-$n/report"; }
first=$(timed)
extra="$work/scale-$n-extra"
rm -rf "$extra"
dotnet "$bench" generate-run "$template" "$extra" "run-$n" 50 "$evidence" "$n"
"$work/bin/periscope-bench" upload-store "$work/blob-connection" "scale-$n" "$extra" "run-$n" 32
for _ in $(seq 100); do
  sealed=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/runs" | python3 -c "import json,sys; print(next(r['sealed'] for r in json.load(sys.stdin) if r['runId']=='run-$n'))" 2>/dev/null || echo 0)
  [ "$sealed" = "$((n + 50))" ] && break
  sleep 0.5
done
second=$(timed)
third=$(timed)
echo "serve, run of $n: first report ${first} s; after 50 more bundles ${second} s (listed: $sealed sealed); unchanged ${third} s"
kill $serve_pid 2>/dev/null || true
# the extra nodes are uploaded again by the next run of this script into a fresh Azurite
