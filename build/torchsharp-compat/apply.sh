#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so load where the system libstdc++ predates GCC 13
# (Debian 12, Ubuntu 22.04, RHEL 9). Patches only copies under OUTDIR, never the NuGet cache,
# and does nothing where the system libstdc++ already provides GLIBCXX_3.4.32.
# Usage: apply.sh OUTDIR [WORKDIR]
set -euo pipefail
out=${1:?usage: apply.sh OUTDIR [WORKDIR]}
work=${2:-$out}
here=$(cd "$(dirname "$0")" && pwd)
need=GLIBCXX_3.4.32
shim=libdistillery_iosinit.so
sym=_ZSt21ios_base_library_initv

libstdcxx=$( (/sbin/ldconfig -p 2>/dev/null || ldconfig -p) | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$libstdcxx" ] && grep -qa "$need" "$libstdcxx"; then
  exit 0  # this system's libstdc++ is new enough: touch nothing
fi

mapfile -t libs < <(find "$out" -name libLibTorchSharp.so -type f 2>/dev/null)
[ ${#libs[@]} -gt 0 ] || exit 0

for tool in g++ cc patchelf; do
  if ! command -v $tool >/dev/null; then
    echo "error DIST001: the system libstdc++ lacks $need, which TorchSharp needs; installing g++ and patchelf lets the build fix that (apt-get install g++ patchelf)" >&2
    exit 1
  fi
done

mkdir -p "$work"
if [ ! -f "$work/$shim" ] || [ "$here/ios_base_library_init.cpp" -nt "$work/$shim" ]; then
  g++ -O2 -shared -fPIC -o "$work/$shim" "$here/ios_base_library_init.cpp"
fi
if [ ! -x "$work/elf_weaken_version" ] || [ "$here/elf_weaken_version.c" -nt "$work/elf_weaken_version" ]; then
  cc -O2 -o "$work/elf_weaken_version" "$here/elf_weaken_version.c"
fi

for lib in "${libs[@]}"; do
  dir=$(dirname "$lib")
  cp -f "$work/$shim" "$dir/$shim"
  if patchelf --print-needed "$lib" | grep -qx "$shim"; then
    continue  # already fixed
  fi
  "$work/elf_weaken_version" "$lib" "$need"
  patchelf --clear-symbol-version "$sym" "$lib"
  patchelf --add-needed "$shim" "$lib"
  echo "torchsharp-compat: fixed $lib for a libstdc++ without $need"
done
