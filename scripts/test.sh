#!/usr/bin/env bash
# Installs what the tests need (idempotently), builds everything, publishes the agent with Native AOT,
# runs every test project, and ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

# --- Debian packages the tests use (apt never starts a service; fixtures start their own) -------------------
packages=(ca-certificates coreutils procps systemd systemd-journal-remote util-linux iproute2 gcc libc6-dev zlib1g-dev
  containerd runc containernetworking-plugins busybox-static dnsmasq-base unbound iptables nftables chromium tmux
  buildah podman skopeo debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p artifacts

# --- npm packages the tests use: Azurite, the Blob Storage emulator ---------------------------------------------
# 3.37 checks user delegation SAS of the service version the Blob SDK signs (2026-x); it declares node >= 22 and
# runs the Blob service on Debian's node 20 (npm warns about the engine).
azurite_version=3.37.0
azurite_dir="$repo/.tools/azurite"
if [ ! -x "$azurite_dir/node_modules/.bin/azurite-blob" ] \
   || ! grep -q "\"version\": \"$azurite_version\"" "$azurite_dir/node_modules/azurite/package.json" 2> /dev/null; then
  if ! command -v npm > /dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >&2
  fi
  echo "Installing azurite@$azurite_version into .tools/azurite" >&2
  npm install --prefix "$azurite_dir" --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >&2
fi
export PERISCOPE_AZURITE="$azurite_dir/node_modules/.bin/azurite-blob"

# --- Build, and publish the agent as the native binary the end-to-end tests run ---------------------------
dotnet build Periscope.NET.sln -c Release -warnaserror -nologo -v quiet
dotnet publish agent/Periscope.Agent/Periscope.Agent.csproj -c Release -r linux-x64 -o artifacts/aot -nologo -v quiet \
  -p:PublishAot=true -warnaserror
export PERISCOPE_AOT_BINARY="$repo/artifacts/aot/periscope-agent"

# --- The images, from the Dockerfile, on bases made here (no registry is reachable): run as pods in the tests ------
bash scripts/images.sh --stand-in-bases
export PERISCOPE_AGENT_IMAGE="$repo/artifacts/images/periscope-agent.oci.tar"
export PERISCOPE_COLLECTOR_IMAGE="$repo/artifacts/images/periscope-collector.oci.tar"

# --- Tests ------------------------------------------------------------------------------------------------------
log="artifacts/test-output.log"
set +e
dotnet test --solution Periscope.NET.sln -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# The Microsoft.Testing.Platform summary ends with "total: / failed: / succeeded: / skipped:" lines.
total=$(grep -E '^\s*total: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^\s*failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$(grep -E '^\s*succeeded: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -E '^\s*skipped: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the runner failed without counting a test failure (build or crash): never report green
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$total" -gt 0 ] || { echo "no test ran" >&2; exit 1; }
exit "$status"
