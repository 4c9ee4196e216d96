#!/usr/bin/env bash
# Issue 18's multi-process benchmark: 1, 2 and 4 `distill generate` processes share one PostgreSQL ledger and label one
# job against a loopback OpenAI-compatible server of fixed capacity (TeachersBench's fake server, in its own process:
# 16 slots × 20 ms, so at most 800 requests/s). Every process is given every prompt; claims in the ledger split the work.
# With SHARE=1 (the default) the PostgreSQL processes run with --take-share, each answering and writing its share, and
# `distill merge` then makes the dataset (checked: one row per prompt, not timed); SHARE=0 measures the processes without
# it (each waits for and writes the whole job).
# The baseline, in the same run, is one process with the default SQLite ledger (ledger.db in its output folder).
# Per row: requests/s as a share of the server's bound and of the baseline, duplicates (answers the server sent beyond the
# distinct prompts; must be 0), the ledger's rows and sends, and CPU ms per request of the distill processes and of
# PostgreSQL (its postmaster and every backend it reaped). Writes bench/results/shared-ledger.md.table (the reading is in shared-ledger.md).
#   usage: bench/shared-ledger/run.sh      settings (environment): REQUESTS=3000 CONCURRENCY=16 PROCESSES="1 2 4" SHARE=1
#          TABLE=bench/results/shared-ledger.md.table (where the table goes; a trial run on a tiny job writes elsewhere)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
REQUESTS=${REQUESTS:-3000}
CONCURRENCY=${CONCURRENCY:-16}
PROCESSES=${PROCESSES:-"1 2 4"}
SHARE=${SHARE:-1}
TABLE=${TABLE:-$repo/bench/results/shared-ledger.md.table}
work=$(mktemp -d)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 BENCH_KEY=sk-bench
"$repo/build/prerequisites.sh" postgresql
dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/TeachersBench" >/dev/null
distill="$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# The fake server serves until its standard input ends; it prints its base URL first.
mkfifo "$work/server.in"
dotnet "$repo/bench/TeachersBench/bin/Release/net10.0/TeachersBench.dll" --serve <"$work/server.in" >"$work/server.out" &
server=$!
exec 7>"$work/server.in"
export DISTILLERY_PG_DIR=/tmp/distillery-pg-bench-$$ # beside, not inside, the private mktemp folder: the postgres user runs it
cleanup() { exec 7>&-; wait "$server" 2>/dev/null || true; bash "$repo/build/postgres-test-server.sh" stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# PostgreSQL must not inherit the server's input (fd 7), or the server would never see it end.
eval "$(bash "$repo/build/postgres-test-server.sh" start 7>&-)"
for _ in $(seq 1 100); do [[ -s $work/server.out ]] && break; sleep 0.1; done
base=$(head -1 "$work/server.out"); origin=${base%/v1*}
pg_url=${DISTILLERY_TEST_POSTGRES%/*}
pg_host_port=${pg_url#postgres://distillery@}
psql() { command psql -h "${pg_host_port%:*}" -p "${pg_host_port#*:}" -U distillery -At "$@"; }
postmaster=$(head -1 "$DISTILLERY_PG_DIR/data/postmaster.pid")
# CPU ticks of the postmaster and its reaped children (utime, stime, cutime, cstime).
pg_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat"; }
tick_ms=$(( 1000 / $(getconf CLK_TCK) ))

python3 -c "
import json
with open('$work/prompts.jsonl', 'w') as f:
    for i in range($REQUESTS): f.write(json.dumps({'id': f'p{i}', 'prompt': f'Tell me a short story about the number {i}, with a dog, a cat and a ball.'}) + '\n')"

# run NAME PROCESSES LEDGER_OR_EMPTY: prints "seconds answered cpu_ms_distill cpu_ms_pg"
run() {
  local name=$1 n=$2 ledger=$3
  curl -fsS -X POST "$origin/fake/reset" >/dev/null
  local pg0; pg0=$(pg_ticks)
  local start; start=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    local args=(generate --prompts "$work/prompts.jsonl" --teacher openai:gpt-bench --base-url "$base" --api-key-env BENCH_KEY
      --out "$work/$name/out$i" --temperature 0 --top-logprobs 5 --max-tokens 16 --concurrency "$CONCURRENCY")
    [[ -n $ledger ]] && args+=(--ledger "$ledger")
    [[ -n $ledger && $SHARE == 1 ]] && args+=(--take-share)
    /usr/bin/time -f "%U %S" -o "$work/$name.time$i" dotnet "$distill" "${args[@]}" >"$work/$name.log$i" 2>&1 &
  done
  wait $(jobs -p | grep -vx "$server") 2>/dev/null || true
  local end; end=$(date +%s.%N)
  local answered; answered=$(curl -fsS "$origin/fake/answered")
  local cpu; cpu=$(cat "$work/$name".time* | awk '{s += $1 + $2} END {printf "%.0f", s * 1000}')
  local pg=$(( ($(pg_ticks) - pg0) * tick_ms ))
  echo "$(echo "$end - $start" | bc) $answered $cpu $pg"
}

log "server $base (16 slots × 20 ms ≤ 800 req/s); PostgreSQL $pg_url; $REQUESTS prompts, --concurrency $CONCURRENCY per process"
mkdir -p "$work/warm"
run warm 1 "" >/dev/null # JIT, connections, the dataset writer: nothing measured pays start-up twice
read -r b_s b_ans b_cpu _ < <(run sqlite 1 "")
b_rate=$(echo "$REQUESTS / $b_s" | bc -l)
log "baseline (1 process, SQLite ledger): $b_s s, $b_ans answers"
rows=$(printf '| 1 process, SQLite ledger (baseline) | %.1f | %.1f | %.0f%% | 100%% | %d | – | %.2f | – |\n' "$b_s" "$b_rate" "$(echo "$b_rate / 8" | bc -l)" $((b_ans - REQUESTS)) "$(echo "$b_cpu / $REQUESTS" | bc -l)")
for n in $PROCESSES; do
  psql -d distillery_test -c "DROP DATABASE IF EXISTS bench_$n" >/dev/null; psql -d distillery_test -c "CREATE DATABASE bench_$n" >/dev/null
  read -r s ans cpu pg < <(run "pg$n" "$n" "$pg_url/bench_$n")
  rate=$(echo "$REQUESTS / $s" | bc -l)
  ledger=$(psql -d "bench_$n" -c "SELECT count(*) || ' rows, ' || sum(sends) || ' sends, ' || count(*) FILTER (WHERE status = 'answered') || ' answered' FROM requests")
  held="$(cat "$work/pg$n"/out*/data.jsonl | wc -l) rows held"
  if [[ $SHARE == 1 ]]; then
    dotnet "$distill" merge --prompts "$work/prompts.jsonl" --out "$work/pg$n/merged" "$work/pg$n"/out* >"$work/pg$n.merge" 2>&1
    merged=$(wc -l <"$work/pg$n/merged/data.jsonl")
    [[ $merged == "$REQUESTS" ]] || { log "merge made $merged rows, not $REQUESTS"; exit 1; }
    held+=" ($(for f in "$work/pg$n"/out*/data.jsonl; do wc -l <"$f"; done | paste -sd+)), merged into $merged"
  fi
  log "$n process(es), PostgreSQL: $s s, $ans answers, ledger $ledger; $held"
  rows+=$'\n'$(printf '| %d process%s, PostgreSQL ledger%s | %.1f | %.1f | %.0f%% | %.0f%% | %d | %s; %s | %.2f | %.2f |' "$n" "$([[ $n == 1 ]] && echo "" || echo "es")" "$([[ $SHARE == 1 ]] && echo ", --take-share" || echo "")" "$s" "$rate" "$(echo "$rate / 8" | bc -l)" "$(echo "100 * $rate / $b_rate" | bc -l)" $((ans - REQUESTS)) "$ledger" "$held" "$(echo "$cpu / $REQUESTS" | bc -l)" "$(echo "$pg / $REQUESTS" | bc -l)")
done

share_note=""
[[ $SHARE == 1 ]] && share_note=', and each PostgreSQL process runs with `--take-share`: it writes only its share, and `distill merge` (not timed) made one row per prompt from the folders'
cat >"$TABLE" <<MD
# Shared ledger: 1, 2 and 4 processes on one PostgreSQL ledger (issue 18)

\`bench/shared-ledger/run.sh\` (REQUESTS=$REQUESTS, CONCURRENCY=$CONCURRENCY per process), $(date -u '+%Y-%m-%d %H:%M UTC') on
$(. /etc/os-release; echo "$PRETTY_NAME"), $(nproc) logical CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),
load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Everything runs on this one machine: the fake OpenAI server
(TeachersBench's, its own process, 16 slots × 20 ms, so at most 800 requests/s; top-5 logprobs, 16 tokens per answer),
PostgreSQL $(command psql --version | awk '{print $3}') (the test server: loopback, \`fsync=off\`), and every \`distill generate\`
process. Every process is given all $REQUESTS prompts and the same ledger; claims split the work$share_note. Each PostgreSQL row has a
fresh database. The first, unmeasured run warms the server.

| setup | seconds | requests/s | share of the server's bound | share of the baseline | duplicates | ledger | CPU ms / request, distill | CPU ms / request, PostgreSQL |
| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |
$rows

Duplicates are the answers the server sent beyond the $REQUESTS distinct prompts. CPU is user + system time of all the
\`distill\` processes of a row (start-up included) and of PostgreSQL (postmaster and reaped backends), per request.
MD
log "wrote $TABLE"
cat "$TABLE"
