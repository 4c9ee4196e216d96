#!/usr/bin/env bash
# Runs every test: installs the build prerequisites where missing, then `dotnet test` on the solution.
# --fast leaves out the tests marked [Trait("Speed", "Slow")] (training, end-to-end CLI runs, demos); other arguments go to `dotnet test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
args=()
for arg in "$@"; do
  if [ "$arg" = "--fast" ]; then args+=(--filter "Speed!=Slow"); else args+=("$arg"); fi
done
"$here/build/prerequisites.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet test "$here/Distillery.slnx" ${args[@]+"${args[@]}"}
