# Shared helpers for the bench scripts (sourced, not run).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_DIR:-/tmp/periscope-bench}"
mkdir -p "$work"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

ensure_time() {
  [ -x /usr/bin/time ] && return
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >&2
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure OUT_PREFIX command...: appends "seconds maxrss_kib" to OUT_PREFIX.times, stdout to OUT_PREFIX.out
measure() {
  local prefix="$1"; shift
  /usr/bin/time -f "%e %M" -o "$prefix.last" "$@" > "$prefix.out" 2> "$prefix.err" || true
  tail -1 "$prefix.last" >> "$prefix.times" # time writes "Command exited with non-zero status N" first on a failure
}

# start_azurite: installs Azurite and @azure/storage-blob under .tools (once), starts Azurite on a free loopback port
# with a fresh location under $work, waits for it, and sets azurite_port, azurite_pid, connection (the emulator's
# well-known development key: not a secret) and tools; the caller kills azurite_pid on exit.
start_azurite() {
  tools="$repo/.tools"
  [ -x "$tools/azurite/node_modules/.bin/azurite-blob" ] || npm install --prefix "$tools/azurite" --no-audit --no-fund --loglevel=error azurite@3.37.0 >&2
  [ -d "$tools/bench-js/node_modules/@azure/storage-blob" ] || npm install --prefix "$tools/bench-js" --no-audit --no-fund --loglevel=error @azure/storage-blob@12 >&2
  cp "$repo"/bench/*.mjs "$tools/bench-js/"
  azurite_port=$(free_port)
  rm -rf "$work/azurite" && mkdir -p "$work/azurite"
  "$tools/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azurite_port" --location "$work/azurite" \
    --disableTelemetry --skipApiVersionCheck --loose > "$work/azurite.log" 2>&1 &
  azurite_pid=$!
  for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && break; sleep 0.2; done
  local key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
  connection="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$azurite_port/devstoreaccount1;"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# create_container CONNECTION NAME
create_container() {
  (cd "$tools/bench-js" && node --input-type=module -e "import { BlobServiceClient } from '@azure/storage-blob';
    await BlobServiceClient.fromConnectionString(process.argv[1]).getContainerClient(process.argv[2]).createIfNotExists();" "$1" "$2")
}
