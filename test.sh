#!/usr/bin/env bash
# Runs every test: installs the build prerequisites where missing, then `dotnet test` on the solution.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/build/prerequisites.sh"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
exec dotnet test "$here/Distillery.slnx" "$@"
