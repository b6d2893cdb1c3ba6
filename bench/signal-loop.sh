#!/usr/bin/env bash
# The signal loop's cost and speed, on the native agent (periscope-agent run):
#   idle cost:  CPU seconds per hour and VmRSS (median, mean and max of samples every second; the median's anonymous part) over IDLE seconds after a 10 s settle, loop on and loop off in
#               alternation (same run), host root / (this machine's /dev/kmsg and mount table; no kubelet or
#               containerd here, so the kubelet, CNI and CRI checks are not supported and do not run);
#   reaction:   from a kernel record appended to a replayed node's kmsg file to the PATCH that sets its condition True,
#               with the default loop interval (10 s), against a fake API server (bench/fake-apiserver.py);
#   API load:   requests to the API per hour while nothing changes (default heartbeat 5 min), counted over WATCH s.
# Usage: bench/signal-loop.sh [RUNS=3] [IDLE=300] [WATCH=900] [BINARY=published agent]
source "$(dirname "$0")/common.sh"
runs="${1:-3}"
idle="${2:-300}"
watch_seconds="${3:-900}"
binary="${4:-}"
if [ -z "$binary" ]; then
  dotnet publish "$repo/agent/Periscope.Agent/Periscope.Agent.csproj" -c Release -r linux-x64 -o "$work/agent" -nologo -v quiet -clp:NoSummary -p:PublishAot=true >&2
  binary="$work/agent/periscope-agent"
fi
tck=$(getconf CLK_TCK)
rm -f "$work"/loop.{on,off}.{cpu,rss,anon} "$work"/loop.react

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

idle_once() { # MODE(on|off)
  local port pid before after
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  rm -rf "$work/loop-spool"
  Periscope__Http__Listen="127.0.0.1:$port" Periscope__Triggers__ConfigMap__Source=none \
    Periscope__Signals__Loop__Enabled=$([ "$1" = on ] && echo true || echo false) \
    "$binary" run --host-root / --out "$work/loop-spool" --node bench > /dev/null 2> "$work/loop.err" &
  pid=$!
  sleep 10
  before=$(cpu_ticks "$pid")
  # Every second: the loop's passes raise the agent for about a second of each 10 s beat, and a 5 s cadence locks onto
  # that phase (a third of the samples high, or none) instead of weighting it by time.
  for _ in $(seq "$idle"); do
    awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" >> "$work/loop.$1.rss"
    awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" >> "$work/loop.$1.anon"
    sleep 1
  done
  after=$(cpu_ticks "$pid")
  echo "($after - $before) / $tck * 3600 / $idle" | bc -l >> "$work/loop.$1.cpu"
  kill -TERM "$pid"; wait "$pid" || true
}

for i in $(seq "$runs"); do
  idle_once on
  idle_once off
done

# A replayed node for the reaction and API-load measurements.
node="$work/loop-node"
rm -rf "$node"; mkdir -p "$node/proc" "$node/dev" "$node/etc"
boot=$(( $(date +%s) - 3600 ))
echo "btime $boot" > "$node/proc/stat"
echo "bench-node" > "$node/etc/hostname"
start_api() { # a fresh fake API server (the node without Periscope's conditions) and a kubeconfig for it
  rm -f "$work/api.port"
  python3 "$repo/bench/fake-apiserver.py" "$work/api.port" bench-node & api_pid=$!
  for _ in $(seq 50); do [ -s "$work/api.port" ] && break; sleep 0.1; done
  api_port=$(cat "$work/api.port")
  cat > "$work/loop.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "http://127.0.0.1:$api_port" } }]
users: [{ name: agent, user: { token: bench } }]
contexts: [{ name: fake, context: { cluster: fake, user: agent } }]
current-context: fake
KUBECONFIG
}
trap 'kill $api_pid 2> /dev/null || true' EXIT

patches_with() { # TEXT: arrival times of PATCH requests whose body holds TEXT
  curl -s "http://127.0.0.1:$api_port/bench/log" | python3 -c "import json,sys; [print(r['t']) for r in json.load(sys.stdin) if r['method']=='PATCH' and sys.argv[1] in r['body']]" "$1"
}

set_true='"type":"PeriscopeKernelLockup","status":"True"'
for i in $(seq "$runs"); do
  echo "6,1,1000000,-;Linux version 6.8.0" > "$node/dev/kmsg"
  start_api
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  Periscope__Http__Listen="127.0.0.1:$port" Periscope__Triggers__ConfigMap__Source=none Periscope__Signals__Kubeconfig="$work/loop.kubeconfig" \
    "$binary" run --host-root "$node" --out "$work/loop-spool" --node bench-node > /dev/null 2> "$work/loop.err" &
  pid=$!
  for _ in $(seq 300); do [ -n "$(patches_with PeriscopeKernelLockup)" ] && break; sleep 0.1; done
  sleep "0.$((RANDOM % 9 + 1))" # land anywhere in the loop's 10 s beat
  sleep $((RANDOM % 10))
  appended=$(date +%s.%N)
  usec=$(python3 -c "print(int(($appended - $boot) * 1e6))")
  echo "0,2,$usec,-;watchdog: BUG: soft lockup - CPU#$i stuck for 22s! [kworker/$i:1:77]" >> "$node/dev/kmsg"
  set_at=
  for _ in $(seq 400); do set_at=$(patches_with "$set_true" | head -1); [ -n "$set_at" ] && break; sleep 0.05; done
  [ -n "$set_at" ] || { echo "no condition after 20 s: $(tail -5 "$work/loop.err")" >&2; kill "$pid"; exit 1; }
  echo "$set_at - $appended" | bc -l >> "$work/loop.react"
  if [ "$i" -lt "$runs" ]; then kill -TERM "$pid"; wait "$pid" || true; kill "$api_pid"; wait "$api_pid" 2> /dev/null || true; fi
done

# API load: the last agent keeps running; requests counted from now over WATCH seconds (its condition clears after
# the 5 min hold-down: one change in the window, the rest heartbeats).
start=$(date +%s.%N)
sleep "$watch_seconds"
requests=$(curl -s "http://127.0.0.1:$api_port/bench/log" | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin) if r['t'] >= $start))")
kill -TERM "$pid"; wait "$pid" || true

mean() { awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
echo "idle, loop on: CPU $(median < "$work/loop.on.cpu" | xargs printf '%.2f') s/hour ($(median < "$work/loop.on.cpu" | awk '{ printf "%.3f", $1 / 36 }') % of one core), median VmRSS $(median < "$work/loop.on.rss") KiB, mean $(mean < "$work/loop.on.rss"), max $(sort -g "$work/loop.on.rss" | tail -1) ($(median < "$work/loop.on.anon") KiB anonymous);" \
  "loop off: CPU $(median < "$work/loop.off.cpu" | xargs printf '%.2f') s/hour, median VmRSS $(median < "$work/loop.off.rss") KiB, mean $(mean < "$work/loop.off.rss"), max $(sort -g "$work/loop.off.rss" | tail -1) ($(median < "$work/loop.off.anon") KiB anonymous) ($runs x ${idle} s each, alternating)"
echo "kernel record to condition patched: median $(median < "$work/loop.react" | xargs printf '%.2f') s, max $(sort -g "$work/loop.react" | tail -1 | xargs printf '%.2f') s ($runs records, default 10 s loop)"
echo "API requests while idle: $requests in ${watch_seconds} s = $(echo "$requests * 3600 / $watch_seconds" | bc -l | xargs printf '%.1f') per hour (heartbeat 5 min, one clear in the window)"
