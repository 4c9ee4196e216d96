#!/usr/bin/env bash
# Issue 19's validation: does `distill provenance` find students that learned from a watermarked teacher, and only those?
# stories260K is served twice over the OpenAI API (`distill serve`), once with a green-list watermark key
# (--watermark-key-env; γ 0.25, δ 2, context 1) and once without. For each share (100, 25, 5, 0%) a dataset is generated
# from the demo's story openings: that share of the openings answered by the watermarked server, the rest by the plain one
# (same teacher, same sampling, so the watermark is the only difference), all through one ledger. Students of the demo's
# architecture (demo/student.json) train SFT on each, with several seeds. bench/Provenance then asks each student every probe
# prompt (the demo's openings, train and held-out; at most 500) for 64 tokens at temperature 1 and runs the radioactivity
# test with the true key (p after 25, 50, 100, 200 and all prompts) and with RANDOM_KEYS random keys (calibration), and
# scores the teacher's held-out bits per byte with and without the watermark. One student per share is also tested through
# `distill provenance --json` into its model folder, and `distill audit` shows it beside the lineage.
#   usage: bench/provenance/run.sh [WORK_DIR]     (default: a temporary folder)
#   settings (environment): SEEDS_0="1 … 10" SEEDS_MARKED="1 2 3" SHARES="100 25 5" STEPS=300 SAMPLES=13 MAX_TOKENS=96
#     PROBE_TOKENS=64 RANDOM_KEYS=100 JOBS=2 OPENINGS=363 PROBES=500 (fewer openings or probes for a quick check)
#     BATCH=16 SEQ_LEN=160 CLI_SHARES="0 100 25 5" (the shares whose seed-1 student is also tested through the CLI)
#     DELTA=2 (the watermark's δ; γ 0.25 and context 1 stay serve's defaults)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
SEEDS_0=${SEEDS_0:-"1 2 3 4 5 6 7 8 9 10"}
SEEDS_MARKED=${SEEDS_MARKED:-"1 2 3"}
SHARES=${SHARES:-"100 25 5"}
STEPS=${STEPS:-300}
SAMPLES=${SAMPLES:-13} # the demo's budget: 13 answers per opening
MAX_TOKENS=${MAX_TOKENS:-96}
PROBE_TOKENS=${PROBE_TOKENS:-64}
RANDOM_KEYS=${RANDOM_KEYS:-100}
JOBS=${JOBS:-2}
OPENINGS=${OPENINGS:-363}
PROBES=${PROBES:-500}
BATCH=${BATCH:-16}
SEQ_LEN=${SEQ_LEN:-160}
CLI_SHARES=${CLI_SHARES:-"0 $SHARES"}
DELTA=${DELTA:-2}
PORT_MARKED=${PORT_MARKED:-18931}
PORT_PLAIN=${PORT_PLAIN:-18932}
results="$repo/bench/results"
teacher="llama2c:$shared/stories260K/stories260K.bin"
export PROVENANCE_BENCH_KEY=${PROVENANCE_BENCH_KEY:-"distillery-bench-watermark-key-19"}

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export TORCH_SHOW_CPP_STACKTRACES=1 # a libtorch error then carries its native stack into distill's crash report
"$repo/build/prerequisites.sh"
dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/Provenance" >/dev/null
distill() { dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" "$@"; }
bench() { dotnet "$repo/bench/Provenance/bin/Release/net10.0/Provenance.dll" "$@"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# Openings as JSONL with stable ids, shuffled once (seeded), so share s takes the first s% of one fixed order.
python3 - "$repo/demo/story-openings.txt" "$repo/demo/story-openings-heldout.txt" "$work" "$OPENINGS" "$PROBES" <<'PY'
import json, random, sys
train = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()][:int(sys.argv[4])]
held = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
order = list(range(len(train))); random.Random(19).shuffle(order)
with open(f"{sys.argv[3]}/order.txt", "w") as f: f.write("\n".join(map(str, order)))
with open(f"{sys.argv[3]}/probe.jsonl", "w", encoding="utf-8") as f:
    for i, t in enumerate((held + train)[:min(500, int(sys.argv[5]))]): f.write(json.dumps({"id": f"probe-{i}", "prompt": t}) + "\n")
with open(f"{sys.argv[3]}/train.jsonl", "w", encoding="utf-8") as f:
    for i in order: f.write(json.dumps({"id": f"opening-{i}", "prompt": train[i]}) + "\n")
PY
n_train=$(wc -l <"$work/train.jsonl")

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# dotnet itself in the background (not the distill function's subshell), so that $! is the server and cleanup stops it.
dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" serve --model "$teacher" --name stories260K --port "$PORT_MARKED" \
  --watermark-key-env PROVENANCE_BENCH_KEY --watermark-delta "$DELTA" >"$work/serve-marked.log" 2>&1 &
pids+=($!)
dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" serve --model "$teacher" --name stories260K --port "$PORT_PLAIN" >"$work/serve-plain.log" 2>&1 &
pids+=($!)
for port in "$PORT_MARKED" "$PORT_PLAIN"; do
  for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 1; done
done

dataset() { # share → data/share-S with S% of the openings from the watermarked server
  local share=$1 out="$work/data/share-$1"
  local marked=$(( (n_train * share + 50) / 100 ))
  [[ -f $out/.done ]] && return 0
  head -n "$marked" "$work/train.jsonl" >"$work/marked-$share.jsonl"
  tail -n +"$((marked + 1))" "$work/train.jsonl" >"$work/plain-$share.jsonl"
  local common=(--teacher openai:stories260K --out "$out" --ledger "$work/ledger.db" --samples "$SAMPLES" --top-logprobs 0
    --max-tokens "$MAX_TOKENS" --temperature 1 --seed 1 --concurrency 4)
  [[ $marked -gt 0 ]] && distill generate --prompts "$work/marked-$share.jsonl" --base-url "http://127.0.0.1:$PORT_MARKED/v1" "${common[@]}" >"$work/generate-$share-marked.log" 2>&1
  [[ $marked -lt $n_train ]] && distill generate --prompts "$work/plain-$share.jsonl" --base-url "http://127.0.0.1:$PORT_PLAIN/v1" "${common[@]}" >"$work/generate-$share-plain.log" 2>&1
  touch "$out/.done"
  log "dataset share $share%: $marked of $n_train openings watermarked"
}
dataset 0 & plain=$!
dataset 100 & marked=$!
wait "$plain" "$marked" # the two servers answer side by side; the other shares come from the ledger
for share in $SHARES; do dataset "$share"; done
cleanup; pids=()

train() { # share seed
  local out="$work/students/share-$1/seed-$2"
  [[ -f $out/.done ]] && return 0
  mkdir -p "$out"
  distill train --data "$work/data/share-$1" --out "$out" --mode sft --student-config "$repo/demo/student.json" \
    --tokenizer "$shared/stories260K/tok512.bin" --chat-template plain --steps "$STEPS" --batch-size "$BATCH" --seq-len "$SEQ_LEN" --lr 0.004 \
    --seed "$2" --resume >"$out.log" 2>&1 || { log "training share $1% seed $2 failed: $out.log"; return 1; }
  touch "$out/.done"
  log "trained share $1% seed $2"
}
score() { # share seed
  local out="$work/students/share-$1/seed-$2"
  if [[ ! -f $out/scores.tsv ]]; then
    bench score --share "$1" --seed "$2" --model "checkpoint:$out" --prompts "$work/probe.jsonl" --max-tokens "$PROBE_TOKENS" \
      --key-env PROVENANCE_BENCH_KEY --random-keys "$([[ $1 == 0 ]] && echo "$RANDOM_KEYS" || echo 0)" >"$out/scores.tmp" 2>"$out/score.log" \
      || { log "scoring share $1% seed $2 failed: $out/score.log"; return 1; }
    mv "$out/scores.tmp" "$out/scores.tsv"
    log "scored share $1% seed $2: $(grep -P '^true\t' "$out/scores.tsv" | tail -1 | cut -f4-)"
  fi
  # The logprob test (what `distill provenance --score logprobs --teacher-model` runs): the student's top-20 probabilities,
  # less the unwatermarked teacher's, weighed on the green lists.
  [[ -f $out/mass.tsv ]] && return 0
  bench mass --share "$1" --seed "$2" --model "checkpoint:$out" --prompts "$work/probe.jsonl" --max-tokens "$PROBE_TOKENS" \
    --key-env PROVENANCE_BENCH_KEY --random-keys "$([[ $1 == 0 ]] && echo "$RANDOM_KEYS" || echo 0)" --reference "$teacher" >"$out/mass.tmp" 2>"$out/mass.log" \
    || { log "logprob scoring share $1% seed $2 failed: $out/mass.log"; return 1; }
  mv "$out/mass.tmp" "$out/mass.tsv"
  log "logprob-scored share $1% seed $2: $(grep -P '^mass\t' "$out/mass.tsv" | tail -1 | cut -f4-)"
}
student() { train "$1" "$2" && score "$1" "$2"; }
export -f train score student log distill bench
export work repo shared teacher STEPS BATCH SEQ_LEN PROBE_TOKENS RANDOM_KEYS
jobs_list=()
for seed in $SEEDS_MARKED; do for share in $SHARES; do jobs_list+=("$share $seed"); done; done
for seed in $SEEDS_0; do jobs_list+=("0 $seed"); done
printf '%s\n' "${jobs_list[@]}" | xargs -P "$JOBS" -L 1 bash -c 'student "$0" "$1"'

# The teacher's own cost: held-out bits per byte (TinyStories sample) with and without the watermark.
[[ -f $work/teacher-bpb.tsv ]] || bench teacher-bpb --model "$teacher" --text "$shared/text/tinystories_sample.txt" --key-env PROVENANCE_BENCH_KEY --delta "$DELTA" >"$work/teacher-bpb.tsv"

# The CLI end to end on one student per share: the result file in the model folder, and audit showing it.
for share in $CLI_SHARES; do
  model="$work/students/share-$share/seed-1"
  [[ -f $model/provenance.json ]] || distill provenance --suspect "checkpoint:$model" --watermark-key-env PROVENANCE_BENCH_KEY --prompts "$work/probe.jsonl" \
    --max-tokens "$PROBE_TOKENS" --json "$model/provenance.json" >"$work/provenance-cli-$share.log" 2>&1
  distill audit "$model" >"$work/audit-$share.log" 2>&1 || true
done

{ echo "# machine: $(nproc --all) cores; $(uptime)"; cat "$work"/students/share-*/seed-*/scores.tsv "$work"/students/share-*/seed-*/mass.tsv "$work/teacher-bpb.tsv"; } >"$work/runs.tsv"
plot="$results/provenance$([[ $DELTA == 2 ]] || echo "-delta$DELTA").png"
bench report --in "$work/runs.tsv" --png "$plot" >"$work/report.md"
log "report: $work/report.md; plot: $plot"
