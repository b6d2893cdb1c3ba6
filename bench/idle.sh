#!/usr/bin/env bash
# Resident memory of the native agent as the DaemonSet runs it (periscope-agent run, local HTTP endpoint on):
#   idle:      VmRSS sampled once a second for SAMPLES seconds after a 5 s settle, before any run;
#   run peak:  VmHWM after one full run of every collector on this machine (POST /v1/runs, host root /);
#   after:     VmRSS sampled the same way 25 s after that run sealed its bundle.
# Over RUNS starts; medians. Goals: idle under 25 MiB; the DaemonSet's memory request and limit follow from these.
# Usage: bench/idle.sh [RUNS=5] [SAMPLES=10] [BINARY=published agent]
source "$(dirname "$0")/common.sh"
runs="${1:-5}"
samples="${2:-10}"
binary="${3:-}"
if [ -z "$binary" ]; then
  dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/agent" -nologo -v quiet -clp:NoSummary >&2
  binary="$work/agent/periscope-agent"
fi
rm -f "$work"/idle.{rss,anon,hwm,after,afteranon}
printf 'bench-token-%s\n' "$$" > "$work/idle.token"

sample() { # PID FILE ANONFILE
  for _ in $(seq "$samples"); do
    awk '/^VmRSS/ { print $2 }' "/proc/$1/status" >> "$2"
    awk '/^RssAnon/ { print $2 }' "/proc/$1/status" >> "$3"
    sleep 1
  done
}

for i in $(seq "$runs"); do
  rm -rf "$work/idle-spool"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  Periscope__Http__Listen="127.0.0.1:$port" Periscope__Http__TokenFile="$work/idle.token" Periscope__Triggers__ConfigMap__Source=none \
    "$binary" run --host-root / --out "$work/idle-spool" --node bench > /dev/null 2> "$work/idle.err" &
  pid=$!
  sleep 5
  sample "$pid" "$work/idle.rss" "$work/idle.anon"

  run="bench-$i-$$"
  curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$work/idle.token")" -H 'Content-Type: application/json' \
    -d "{\"runId\":\"$run\"}" "http://127.0.0.1:$port/v1/runs"
  for _ in $(seq 300); do
    state=$(curl -s -H "Authorization: Bearer $(cat "$work/idle.token")" "http://127.0.0.1:$port/v1/runs/$run" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("state",""))' 2> /dev/null || true)
    [ "$state" = completed ] || [ "$state" = failed ] && break
    sleep 1
  done
  [ "$state" = completed ] || { echo "run $run ended '$state': $(tail -5 "$work/idle.err")" >&2; kill "$pid"; exit 1; }
  awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" >> "$work/idle.hwm"
  sleep 25 # the agent gives memory back right after a run and again 20 s later
  sample "$pid" "$work/idle.after" "$work/idle.afteranon"
  kill -TERM "$pid"; wait "$pid" || true
done
echo "agent (run, HTTP on, $runs starts x $samples samples): idle median VmRSS $(median < "$work/idle.rss") KiB (anonymous $(median < "$work/idle.anon") KiB), max $(sort -g "$work/idle.rss" | tail -1) KiB;" \
  "full run peak VmHWM median $(median < "$work/idle.hwm") KiB, max $(sort -g "$work/idle.hwm" | tail -1) KiB;" \
  "after the run median VmRSS $(median < "$work/idle.after") KiB (anonymous $(median < "$work/idle.afteranon") KiB); binary $(stat -c %s "$binary") bytes"
