#!/usr/bin/env bash
# Issue 16's benchmark: on-policy distillation from a supervised start against white-box KD from the same start (the
# control) and the three from-scratch students, on the demo's data, student and budget. Writes bench/results/on-policy.md.
#
# stories260K is served over the OpenAI API and labels the demo's story openings (top-20 logprobs), as `distill demo` does.
# Per seed: SFT, top-k and white-box students train from scratch for STEPS steps; then, from that seed's SFT student, an
# on-policy student (the sampled per-token reverse KL, λ = 1) and a white-box student train for WARM_STEPS more steps each
# with the same batch, so both see the same number of teacher-scored positions after the SFT start (the on-policy ones are
# the student's samples of at most MAX_NEW_TOKENS, so the script reports the count each run logged). `distill eval` scores
# every student on the held-out openings: KL(T‖S) on the teacher's text, bits per byte, top-1 agreement, and the
# sample-level reverse KL on the student's own samples at temperature 1.
#   usage: bench/on-policy/run.sh [WORK_DIR]      (default: a temporary folder)
#   settings (environment): SEEDS="1 2 3" STEPS=300 WARM_STEPS=300 LR=0.004 WARM_LR=0.001 MAX_NEW_TOKENS=96
#   ONPOLICY="sampled-reverse-kl:1 jsd:0.5" (one on-policy student per divergence:λ, to choose the default by measurement)
#   EVAL_LIMIT=40 PORT=8392
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
ONPOLICY=${ONPOLICY:-"sampled-reverse-kl:1 jsd:0.5"}
EVAL_LIMIT=${EVAL_LIMIT:-40}
PORT=${PORT:-8392}
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
    prompts=$repo/demo/story-openings.txt; [[ $split == heldout ]] && prompts=$repo/demo/story-openings-heldout.txt
    distill generate --prompts "$prompts" --teacher openai:stories260K --base-url "http://127.0.0.1:$PORT/v1" --out "$work/data/$split" \
      --top-logprobs 20 --max-tokens 96 --temperature 1 --seed 1 --concurrency 4 >"$work/generate-$split.log" 2>&1
  done
  kill $server; wait $server 2>/dev/null || true; trap - EXIT
fi

train() { # out, then train flags
  local out=$1; shift
  [[ -f $out/model.safetensors ]] && return
  log "train $(basename "$out")"
  distill train --data "$work/data/train" --out "$out" "${common[@]}" --resume "$@" >"$out.log" 2>&1
}
for seed in $SEEDS; do
  s=$work/students/seed$seed
  mkdir -p "$s"
  train "$s/sft" --mode sft "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed"
  train "$s/topk" --mode topk "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed"
  train "$s/whitebox" --mode whitebox --teacher "$teacher" "${new[@]}" --steps "$STEPS" --lr "$LR" --seed "$seed"
  models=(--model "SFT=checkpoint:$s/sft" --model "top-k=checkpoint:$s/topk" --model "white-box=checkpoint:$s/whitebox")
  for variant in $ONPOLICY; do
    div=${variant%%:*} lambda=${variant##*:}
    train "$s/onpolicy-$div-l$lambda" --mode onpolicy --teacher "$teacher" --student "checkpoint:$s/sft" --steps "$WARM_STEPS" --lr "$WARM_LR" \
      --seed "$seed" --lambda "$lambda" --divergence "$div" --max-new-tokens "$MAX_NEW_TOKENS"
    models+=(--model "on-policy from SFT ($div, λ = $lambda)=checkpoint:$s/onpolicy-$div-l$lambda")
  done
  train "$s/whitebox-from-sft" --mode whitebox --teacher "$teacher" --student "checkpoint:$s/sft" --steps "$WARM_STEPS" --lr "$WARM_LR" --seed "$seed"
  models+=(--model "white-box from SFT=checkpoint:$s/whitebox-from-sft")
  # Scored again whenever a student is newer than the scores.
  if [[ ! -f $s/report/scores.json ]] || [[ -n $(find "$s" -name model.safetensors -newer "$s/report/scores.json") ]]; then
    distill eval --teacher "teacher=$teacher" --data "$work/data/heldout" --limit "$EVAL_LIMIT" --report "$s/report" "${models[@]}" >"$s/eval.log" 2>&1
  fi
done

scores=(); for seed in $SEEDS; do scores+=("$work/students/seed$seed/report/scores.json"); done
dotnet "$repo/bench/OnPolicy/bin/Release/net10.0/OnPolicy.dll" report --png "$repo/bench/results/on-policy.png" "${scores[@]}" \
  | tee "$repo/bench/results/on-policy.md.table"
