#!/usr/bin/env bash
# Installs what building Distillery needs on Debian/Ubuntu where it is missing: g++ and patchelf, used by the build
# to fix TorchSharp for a libstdc++ older than GCC 13's (build/torchsharp-compat). Extra apt packages may be named.
set -euo pipefail
need=()
command -v g++ >/dev/null || need+=(g++)
command -v patchelf >/dev/null || need+=(patchelf)
for extra in "$@"; do dpkg -s "$extra" >/dev/null 2>&1 || need+=("$extra"); done
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v dotnet >/dev/null; then echo "Distillery needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
