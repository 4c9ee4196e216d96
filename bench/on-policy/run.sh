#!/usr/bin/env bash
# Issue 16's benchmark: on-policy distillation from a supervised start against white-box KD from the same start (the
# control) and the three from-scratch students, on the demo's data, student and budget. Writes bench/results/on-policy.md.
#
# stories260K is served over the OpenAI API and labels the demo's story openings (top-20 logprobs), as `distill demo` does.
# Per seed: SFT, top-k and white-box students train from scratch for STEPS steps; then, from that seed's SFT student, one
# on-policy student per ONPOLICY variant and a white-box student train for WARM_STEPS more steps each
# with the same batch, so both see the same number of teacher-scored positions after the SFT start (the on-policy ones are
# the student's samples of at most MAX_NEW_TOKENS, so the script reports the count each run logged). `distill eval` scores
# every student on the held-out openings: KL(T‖S) on the teacher's text, bits per byte, top-1 agreement, and the
# sample-level reverse KL on the student's own samples at temperature 1.
# Curves (issue 16's plot of both KLs against teacher tokens): for each seed in CURVE_SEEDS every run also writes its
# student every 1/SNAPSHOTS of its steps (`train --snapshot-every`, with resume states as often), `distill eval` scores
# each snapshot, and the report step plots KL(T‖S) and KL(S‖T) against the teacher tokens trained on (metrics.jsonl's
# teacher_tokens; a warm start's line continues from its SFT start's) into RESULTS/on-policy-curves.png and .tsv.
# Everything is resumable: a finished student or evaluation is kept, a killed training resumes from its last resume state.
#   usage: bench/on-policy/run.sh [WORK_DIR]      (default: a temporary folder)
#   settings (environment): SAMPLES=13 (answers per training opening, as the demo) SEEDS="1 2 3" STEPS=300 WARM_STEPS=300 LR=0.004 WARM_LR=0.001 MAX_NEW_TOKENS=96
#   ONPOLICY="sampled-reverse-kl:1 jsd:0.5" (one on-policy student per divergence:λ, to choose the default by measurement;
#   a model's name may not hold "=", which `distill eval --model NAME=SPEC` splits on)
#   EVAL_LIMIT=40 PORT=8392 CURVE_SEEDS="1" (seeds with curves, "" for none) SNAPSHOTS=6 RESULTS=bench/results
#   TRAIN_PROMPTS, HELDOUT_PROMPTS (default: the demo's story openings; a shorter file makes a quick trial)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-300}
WARM_STEPS=${WARM_STEPS:-300}
LR=${LR:-0.004}
WARM_LR=${WARM_LR:-0.001}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-96}
SAMPLES=${SAMPLES:-13}
ONPOLICY=${ONPOLICY:-"sampled-reverse-kl:1 jsd:0.5"}
EVAL_LIMIT=${EVAL_LIMIT:-40}
PORT=${PORT:-8392}
CURVE_SEEDS=${CURVE_SEEDS-1}
SNAPSHOTS=${SNAPSHOTS:-6}
RESULTS=${RESULTS:-$repo/bench/results}
TRAIN_PROMPTS=${TRAIN_PROMPTS:-$repo/demo/story-openings.txt}
HELDOUT_PROMPTS=${HELDOUT_PROMPTS:-$repo/demo/story-openings-heldout.txt}
mkdir -p "$RESULTS"
teacher="llama2c:$shared/stories260K/stories260K.bin"
common=(--batch-size 16 --seq-len 160)
new=(--student-config "$repo/demo/student.json" --tokenizer "$shared/stories260K/tok512.bin" --chat-template plain)

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
"$repo/build/prerequisites.sh"
dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/OnPolicy" >/dev/null
distill() { dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" "$@"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

if [[ ! -d $work/data/heldout ]]; then
  log "serving stories260K on port $PORT; generating the demo's training and held-out sets"
  dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" serve --model "$teacher" --name stories260K --port "$PORT" >"$work/serve.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
  for split in train heldout; do
    prompts=$TRAIN_PROMPTS; [[ $split == heldout ]] && prompts=$HELDOUT_PROMPTS
    # The demo's budget: SAMPLES answers per training opening (seed 1), one per held-out opening (seed 2).
    split_args=(--seed 1 --samples "$SAMPLES"); [[ $split == heldout ]] && split_args=(--seed 2)
    distill generate --prompts "$prompts" --teacher openai:stories260K --base-url "http://127.0.0.1:$PORT/v1" --out "$work/data/$split" \
      --top-logprobs 20 --max-tokens 96 --temperature 1 "${split_args[@]}" --concurrency 4 >"$work/generate-$split.log" 2>&1
  done
  kill $server; wait $server 2>/dev/null || true; trap - EXIT
fi

train() { # out, then train flags
  local out=$1; shift
  [[ -f $out/model.safetensors ]] && return
  log "train $(basename "$out")"
  distill train --data "$work/data/train" --out "$out" "${common[@]}" --resume "$@" >"$out.log" 2>&1
}
# With curves, a run writes its student (and a resume state) every 1/SNAPSHOTS of its steps.
every() { # steps, seed
  if [[ " $CURVE_SEEDS " == *" $2 "* ]]; then
    local n=$(( $1 / SNAPSHOTS > 0 ? $1 / SNAPSHOTS : 1 ))
    echo "--snapshot-every $n --checkpoint-every $n"
  fi
}
# One mode's curve: its snapshots scored by `distill eval` (again only when a snapshot is newer than the scores).
curve() { # seed folder, label, folder name, run folder, start label or -
  local s=$1 label=$2 name=$3 run=$4 start=$5
  printf '%s\t%s\t%s\t%s\n' "$label" "$name" "$run" "$start" >>"$s/curves/rows.tsv"
  local snapshots=("$run"/snapshots/step-*)
  if [[ ! -d ${snapshots[0]} ]]; then log "no snapshots in $run (trained without --snapshot-every); its curve is left out"; return; fi
  local out=$s/curves/$name
  [[ -f $out/scores.json && -z $(find "$run/snapshots" -name model.safetensors -newer "$out/scores.json") ]] && return
  local snapshot_models=()
  for d in "${snapshots[@]}"; do snapshot_models+=(--model "$(basename "$d")=checkpoint:$d"); done
  log "eval the curve of $name ($(basename "$s"), ${#snapshots[@]} snapshots)"
  distill eval --teacher "teacher=$teacher" --data "$work/data/heldout" --limit "$EVAL_LIMIT" --report "$out" "${snapshot_models[@]}" >"$out.log" 2>&1
}
for seed in $SEEDS; do
  s=$work/students/seed$seed
  mkdir -p "$s"
  # shellcheck disable=SC2046 # every() prints options or nothing
  train "$s/sft" --mode sft "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed" $(every "$STEPS" "$seed")
  # shellcheck disable=SC2046
  train "$s/topk" --mode topk "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed" $(every "$STEPS" "$seed")
  # shellcheck disable=SC2046
  train "$s/whitebox" --mode whitebox --teacher "$teacher" "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed" $(every "$STEPS" "$seed")
  models=(--model "SFT=checkpoint:$s/sft" --model "top-k=checkpoint:$s/topk" --model "white-box=checkpoint:$s/whitebox")
  rows=("SFT|sft|-" "top-k|topk|-" "white-box|whitebox|-")
  for variant in $ONPOLICY; do
    div=${variant%%:*} lambda=${variant##*:}
    # shellcheck disable=SC2046
    train "$s/onpolicy-$div-l$lambda" --mode onpolicy --teacher "$teacher" --student "checkpoint:$s/sft" --steps "$WARM_STEPS" --lr "$WARM_LR" \
      --seed "$seed" --lambda "$lambda" --divergence "$div" --max-new-tokens "$MAX_NEW_TOKENS" $(every "$WARM_STEPS" "$seed")
    models+=(--model "on-policy from SFT ($div, λ $lambda)=checkpoint:$s/onpolicy-$div-l$lambda")
    rows+=("on-policy from SFT ($div, λ $lambda)|onpolicy-$div-l$lambda|SFT")
  done
  # shellcheck disable=SC2046
  train "$s/whitebox-from-sft" --mode whitebox --teacher "$teacher" --student "checkpoint:$s/sft" --steps "$WARM_STEPS" --lr "$WARM_LR" --seed "$seed" \
    $(every "$WARM_STEPS" "$seed")
  models+=(--model "white-box from SFT=checkpoint:$s/whitebox-from-sft")
  rows+=("white-box from SFT|whitebox-from-sft|SFT")
  if [[ " $CURVE_SEEDS " == *" $seed "* ]]; then
    mkdir -p "$s/curves"; : >"$s/curves/rows.tsv"
    for row in "${rows[@]}"; do IFS='|' read -r label name start <<<"$row"; curve "$s" "$label" "$name" "$s/$name" "$start"; done
  fi
  # Scored again whenever a student is newer than the scores.
  if [[ ! -f $s/report/scores.json ]] || [[ -n $(find "$s" -name model.safetensors -newer "$s/report/scores.json") ]]; then
    distill eval --teacher "teacher=$teacher" --data "$work/data/heldout" --limit "$EVAL_LIMIT" --report "$s/report" "${models[@]}" >"$s/eval.log" 2>&1
  fi
done

scores=(); for seed in $SEEDS; do scores+=("$work/students/seed$seed/report/scores.json"); done
dotnet "$repo/bench/OnPolicy/bin/Release/net10.0/OnPolicy.dll" report --png "$RESULTS/on-policy.png" "${scores[@]}" \
  | tee "$RESULTS/on-policy.md.table"
curve_seeds=(); for seed in $SEEDS; do [[ " $CURVE_SEEDS " == *" $seed "* ]] && curve_seeds+=("$work/students/seed$seed"); done
if (( ${#curve_seeds[@]} > 0 )); then
  dotnet "$repo/bench/OnPolicy/bin/Release/net10.0/OnPolicy.dll" curves --png "$RESULTS/on-policy-curves.png" --tsv "$RESULTS/on-policy-curves.tsv" "${curve_seeds[@]}"
fi
