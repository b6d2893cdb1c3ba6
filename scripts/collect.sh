#!/usr/bin/env bash
# The main job on this machine: a one-shot collection into ./periscope-data, then the health report of that run.
# Extra arguments go to 'periscope-agent collect' (for example --collectors kernel, --since 2h).
# Exit code: the report's (0 healthy, 1 warning, 2 critical, 3 unknown or could not run).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
store="${PERISCOPE_STORE:-$PWD/periscope-data}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build "$repo/Periscope.NET.sln" -c Release -nologo -v quiet -clp:NoSummary >&2
agent="$repo/agent/Periscope.Agent/bin/Release/net10.0/periscope-agent"
collector="$repo/collector/Periscope.Collector/bin/Release/net10.0/periscope-collector"

run_id="$(date -u +%Y%m%dT%H%M%SZ)"
set +e
"$agent" collect --out "$store" --run-id "$run_id" "$@" >&2
collect_status=$?
set -e
if [ "$collect_status" -eq 3 ]; then
  echo "periscope: collection could not run (see above)" >&2
  exit 3
fi
exec "$collector" report --store "$store" --run-id "$run_id" --format markdown
