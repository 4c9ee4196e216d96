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
# A test that hangs is killed after 10 minutes and reported as failed, instead of stalling the whole run.
exec dotnet test "$here/Distillery.slnx" --blame-hang-timeout 10m --blame-hang-dump-type none ${args[@]+"${args[@]}"}
