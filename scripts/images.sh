#!/usr/bin/env bash
# Builds the agent and collector images from the top-level Dockerfile with buildah and exports each as an OCI
# archive: artifacts/images/periscope-agent.oci.tar and periscope-collector.oci.tar.
#
#   scripts/images.sh                  bases from the Dockerfile's defaults (mcr.microsoft.com, pulled)
#   scripts/images.sh --stand-in-bases bases made here, offline, in the same shape as the official ones:
#     sdk           a Debian minbase (debootstrap, from this machine's configured mirror) with the AOT build
#                   dependencies (gcc, libc6-dev, zlib1g-dev, libicu) and this machine's .NET SDK
#     runtime-deps  this machine's glibc, libgcc, libstdc++, OpenSSL, zlib and CA bundle, users root and app (1654)
#     aspnet        runtime-deps plus this machine's shared .NET and ASP.NET Core runtimes
#   Every stage of the Dockerfile then runs unchanged, with --pull=never.
#
# Needs root and Debian's buildah, podman, debootstrap. Storage and configuration are private to artifacts/, so
# the machine's own container storage is never touched. Timings go to artifacts/images/build-times.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

stand_in=false
for argument in "$@"; do
  case "$argument" in
    --stand-in-bases) stand_in=true ;;
    *) echo "usage: scripts/images.sh [--stand-in-bases]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "images.sh: buildah here runs rootful; run as root" >&2; exit 1; }
for tool in buildah podman; do
  command -v "$tool" > /dev/null || { echo "images.sh: $tool is not installed (Debian: buildah podman)" >&2; exit 1; }
done

out="$repo/artifacts/images"
state="$repo/artifacts/containers"
mkdir -p "$out" "$state"

# --- Private container configuration -----------------------------------------------------------------------------
# Host networking for RUN steps (restore, apt) and explicit ulimits: root here lacks CAP_SYS_RESOURCE, so the
# defaults (raising nofile and nproc) would be refused.
# overlay needs a file system that is not itself overlayfs; vfs (a full copy per layer) works everywhere.
driver=overlay
[ "$(stat -f -c %T "$state")" != "overlayfs" ] || driver=vfs
cat > "$state/storage.conf" << EOF
[storage]
driver = "$driver"
graphroot = "$state/storage"
runroot = "$state/run"
EOF
cat > "$state/containers.conf" << 'EOF'
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_STORAGE_CONF="$state/storage.conf" CONTAINERS_CONF="$state/containers.conf"
export BUILDAH_ISOLATION=chroot

times="$out/build-times.txt"
: > "$times"
timed() { # $1: label; the rest: the command
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v l="$label" -v s="$start" -v e="$end" 'BEGIN { printf "%s-seconds %.1f\n", l, e - s }' | tee -a "$times" >&2
}

build_args=()
if $stand_in; then
  command -v debootstrap > /dev/null || { echo "images.sh: debootstrap is not installed" >&2; exit 1; }
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  multiarch=x86_64-linux-gnu
  libdir="/usr/lib/$multiarch"
  [ -d "$libdir" ] || { echo "images.sh: $libdir missing: stand-in bases need an x86-64 Debian or Ubuntu host" >&2; exit 1; }
  bases="$state/bases"
  mkdir -p "$bases"

  image_exists() { podman image exists "$1" 2> /dev/null; }

  # runtime-deps: what a .NET program needs from the OS, from this machine's own libraries.
  runtime_deps_root() { # $1: the directory to fill
    local root=$1
    rm -rf "$root"
    mkdir -p "$root"/{etc/ssl/certs,tmp,root,home/app,usr/bin,usr/sbin,usr/lib/"$multiarch",usr/lib64}
    chmod 1777 "$root/tmp"
    chown 1654:1654 "$root/home/app"
    ln -s usr/bin "$root/bin"
    ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 \
               libgcc_s.so.1 libstdc++.so.6 libssl.so.3 libcrypto.so.3 libz.so.1; do
      cp -L "$libdir/$lib" "$root/usr/lib/$multiarch/$lib"
    done
    ln -s "../lib/$multiarch/ld-linux-x86-64.so.2" "$root/usr/lib64/ld-linux-x86-64.so.2"
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    cp -L /etc/os-release "$root/etc/os-release"
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:1654:1654:app:/home/app:/usr/sbin/nologin\n' > "$root/etc/passwd"
    printf 'root:x:0:\napp:x:1654:\n' > "$root/etc/group"
  }

  import() { # $1: root directory, $2: image name, the rest: --change arguments
    local root=$1 name=$2
    shift 2
    tar --numeric-owner -C "$root" -cf - . | podman import "$@" - "$name" > /dev/null
  }

  runtime_deps=localhost/periscope-stand-in/runtime-deps:10.0
  if ! image_exists "$runtime_deps"; then
    runtime_deps_root "$bases/runtime-deps"
    timed stand-in-runtime-deps import "$bases/runtime-deps" "$runtime_deps" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV APP_UID=1654' --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' --change 'USER 1654'
  fi

  aspnet=localhost/periscope-stand-in/aspnet:10.0
  if ! image_exists "$aspnet"; then
    runtime_deps_root "$bases/aspnet"
    mkdir -p "$bases/aspnet/usr/share/dotnet/shared"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$bases/aspnet/usr/share/dotnet/"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$bases/aspnet/usr/share/dotnet/shared/"
    ln -s ../share/dotnet/dotnet "$bases/aspnet/usr/bin/dotnet"
    timed stand-in-aspnet import "$bases/aspnet" "$aspnet" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV APP_UID=1654' --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' \
      --change 'ENV ASPNETCORE_HTTP_PORTS=8080' --change 'USER 1654'
  fi

  # sdk: a Debian minbase from the mirror this machine is configured with, its AOT build dependencies and
  # this machine's .NET SDK.
  sdk=localhost/periscope-stand-in/sdk:10.0-aot
  if ! image_exists "$sdk"; then
    . /etc/os-release
    suite="${VERSION_CODENAME:-bookworm}"
    mirror="${PERISCOPE_DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ]; then
      mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
      [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -1 || true)
      [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    fi
    rm -rf "$bases/sdk"
    timed stand-in-sdk-debootstrap debootstrap --variant=minbase \
      --include=ca-certificates,gcc,libc6-dev,zlib1g-dev,libicu72 "$suite" "$bases/sdk" "$mirror" > "$state/debootstrap.log" 2>&1 \
      || { tail -20 "$state/debootstrap.log" >&2; exit 1; }
    mkdir -p "$bases/sdk/usr/share/dotnet"
    cp -a "$dotnet_root"/. "$bases/sdk/usr/share/dotnet/"
    ln -sf ../share/dotnet/dotnet "$bases/sdk/usr/bin/dotnet"
    # This machine's trust store: where TLS to the package feeds is inspected by an egress proxy, its CA is there.
    cp -L /etc/ssl/certs/ca-certificates.crt "$bases/sdk/etc/ssl/certs/ca-certificates.crt"
    if [ -d /usr/local/share/ca-certificates ]; then
      cp -a /usr/local/share/ca-certificates/. "$bases/sdk/usr/local/share/ca-certificates/"
    fi
    rm -rf "$bases/sdk/var/cache/apt/archives/"*.deb "$bases/sdk/var/lib/apt/lists/"*
    timed stand-in-sdk-import import "$bases/sdk" "$sdk" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV DOTNET_ROOT=/usr/share/dotnet' --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' \
      --change "ENV NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE:-online}"
  fi
  rm -rf "$bases"
  build_args=(--pull=never --build-arg "SDK_IMAGE=$sdk" --build-arg "RUNTIME_DEPS_IMAGE=$runtime_deps" --build-arg "ASPNET_IMAGE=$aspnet")
fi

version=$(grep -oP '(?<=<Version>)[^<]+' Directory.Build.props)
for target in agent collector; do
  tag="localhost/periscope-$target:$version"
  timed "build-$target" buildah bud --force-rm --layers --format oci "${build_args[@]}" \
    --target "$target" --tag "$tag" --file Dockerfile .
  rm -f "$out/periscope-$target.oci.tar"
  podman save --format oci-archive --output "$out/periscope-$target.oci.tar" "$tag"
  size=$(podman image inspect --format '{{.Size}}' "$tag")
  echo "image-$target-bytes $size" | tee -a "$times" >&2
  echo "image-$target-archive-bytes $(stat -c %s "$out/periscope-$target.oci.tar")" | tee -a "$times" >&2
done
buildah rm --all > /dev/null 2>&1 || true
echo "images in $out: $(cd "$out" && ls *.oci.tar | tr '\n' ' ')" >&2
