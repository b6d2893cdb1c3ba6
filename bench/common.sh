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
  cat "$prefix.last" >> "$prefix.times"
}
