#!/bin/sh
# Copies the node tools the agent runs into the directory $1, laid out as a root file system to COPY onto the
# chiseled runtime base: each binary, the iptables extensions it loads, and the shared libraries they need, minus
# those the runtime base already carries (glibc, libgcc, libstdc++, OpenSSL). zlib is copied: .NET 9 and later bring
# their own, and the runtime-deps images no longer ship it. Runs in an image of the same distribution as that base.
set -eu
out=${1:?usage: host-tools.sh OUTPUT_DIRECTORY}
mkdir -p "$out"

provided='ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libgcc_s.so.1 libstdc++.so.6 libssl.so.3 libcrypto.so.3'

canonical() { # $1: a path; its directory with symlinks resolved (/lib is /usr/lib on merged-/usr systems)
  echo "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"
}

copy_file() { # $1: an absolute path; copied under its canonical directory with its own name, symlinks resolved
  target=$out$(canonical "$1")
  [ -e "$target" ] && return 0
  mkdir -p "$(dirname "$target")"
  cp -L "$1" "$target"
}

copy_closure() { # $1: an ELF file; copies it and every library it needs that the base does not provide
  copy_file "$1"
  ldd "$1" 2>/dev/null | while read -r first arrow path rest; do
    case "$arrow" in
      "=>") lib=$path ;;
      *) lib=$first ;;
    esac
    case "$lib" in /*) ;; *) continue ;; esac
    name=$(basename "$lib")
    case " $provided " in *" $name "*) continue ;; esac
    [ -e "$out$(canonical "$lib")" ] || copy_closure "$lib"
  done
}

need() { command -v "$1" || { echo "host-tools: $1 is not installed" >&2; exit 1; }; }

journalctl=$(need journalctl)
nft=$(need nft)
setsid=$(need setsid)
xtables_nft=$(need xtables-nft-multi)
xtables_legacy=$(need xtables-legacy-multi)
for tool in "$journalctl" "$nft" "$setsid" "$xtables_nft" "$xtables_legacy"; do
  copy_closure "$tool"
done

# systemd loads its compression libraries with dlopen (compressed journal entries): not in ldd's list.
for lib in liblz4.so.1 libzstd.so.1 liblzma.so.5; do
  path=$(ldconfig -p | awk -v n="$lib" '$1 == n && /x86-64/ { print $NF; exit }')
  [ -n "$path" ] && copy_closure "$path"
done

# iptables matches and targets are shared objects loaded by name while printing rules.
for extensions in /usr/lib/*/xtables /usr/lib/xtables; do
  [ -d "$extensions" ] || continue
  for so in "$extensions"/*.so; do copy_closure "$so"; done
done
[ -d /etc/xtables ] && mkdir -p "$out/etc" && cp -R /etc/xtables "$out/etc/"

# Only the read-only commands: the agent lists rules, it never changes them.
sbin=$(dirname "$(canonical "$xtables_nft")")
for name in iptables-save ip6tables-save iptables-nft-save ip6tables-nft-save; do
  ln -sf "$(basename "$xtables_nft")" "$out$sbin/$name"
done
for name in iptables-legacy-save ip6tables-legacy-save; do
  ln -sf "$(basename "$xtables_legacy")" "$out$(dirname "$(canonical "$xtables_legacy")")/$name"
done

du -sh "$out" >&2
