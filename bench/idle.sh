#!/usr/bin/env bash
# Resident memory of the native agent while it waits for triggers (periscope-agent run, local HTTP endpoint on,
# no run yet): VmRSS sampled once a second for SAMPLES seconds after a 5 s settle, over RUNS starts; medians.
# Goal: under 40 MiB. Usage: bench/idle.sh [RUNS=5] [SAMPLES=10] [BINARY=published agent]
source "$(dirname "$0")/common.sh"
runs="${1:-5}"
samples="${2:-10}"
binary="${3:-}"
if [ -z "$binary" ]; then
  dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/agent" -nologo -v quiet -clp:NoSummary >&2
  binary="$work/agent/periscope-agent"
fi
rm -f "$work/idle.rss" "$work/idle.anon"
for _ in $(seq "$runs"); do
  rm -rf "$work/idle-spool"
  Periscope__Http__Listen=127.0.0.1:0 Periscope__Triggers__ConfigMap__Source=none \
    "$binary" run --out "$work/idle-spool" --node bench > /dev/null 2> "$work/idle.err" &
  pid=$!
  sleep 5
  for _ in $(seq "$samples"); do
    awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >> "$work/idle.rss"
    awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" >> "$work/idle.anon"
    sleep 1
  done
  kill -TERM "$pid"; wait "$pid" || true
done
echo "agent idle (run, HTTP on, $runs starts x $samples samples): median VmRSS $(median < "$work/idle.rss") KiB (anonymous $(median < "$work/idle.anon") KiB), max $(sort -g "$work/idle.rss" | tail -1) KiB; binary $(stat -c %s "$binary") bytes"
