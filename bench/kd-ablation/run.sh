#!/usr/bin/env bash
# Issue 17's ablation: how much of a teacher survives an API. stories260K (local, `llama2c:`) labels the demo's story
# openings once with top-20 logprobs AND 12 samples of its distribution per token (`distill generate --top-logprobs 20
# --sampled-logprobs 12`; the ledger makes reruns free). Students of the demo's architecture (demo/student.json, about a fifth
# of the teacher) train on that one dataset, same steps, LR, batch and seeds for every row:
#   SFT on the text; top-k KD for k = 1, 5, 20 (train --top-logprobs k) under each tail policy (not top-1 renormalised:
#   one alternative renormalised is probability 1 on both sides, a KL of 0, so that row is SFT at half weight); random-sampling KD from the
#   12 stored samples (train --teacher-samples 12); white-box KD with the full distribution, and white-box random-sampling
#   KD drawing 12 fresh samples per position each step.
# `distill eval` scores them on held-out openings (bits per byte, KL(T‖S), top-1 agreement) and bench/KdAblation writes the
# table and the plot.
#   usage: bench/kd-ablation/run.sh [WORK_DIR]     (default: a temporary folder)
#   settings (environment): BUDGETS="100k" (100k: 3 samples per opening, ≈105K teacher tokens; 1m: 29, ≈1M) SEEDS="1 2 3"
#     STEPS_100K=200 (≈ 3 epochs) STEPS_1M=650 (≈ 1 epoch: the loss, not repetition, decides) MAX_TOKENS=96 BATCH=16 SEQ_LEN=160 LR=0.004 EVAL_LIMIT=80 JOBS=2
#     CONTROLS="100k 1m" (the budgets that also train the α 0.5 controls and white-box with fresh samples)
#   Each budget's rows go to WORK_DIR/runs-BUDGET.tsv once its students are scored (delete it to score again); runs.tsv joins them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
BUDGETS=${BUDGETS:-"100k"}
SEEDS=${SEEDS:-"1 2 3"}
STEPS_100K=${STEPS_100K:-200}
STEPS_1M=${STEPS_1M:-650}
MAX_TOKENS=${MAX_TOKENS:-96}
BATCH=${BATCH:-16}
SEQ_LEN=${SEQ_LEN:-160}
LR=${LR:-0.004}
EVAL_LIMIT=${EVAL_LIMIT:-80}
JOBS=${JOBS:-2}
CONTROLS=${CONTROLS:-"100k 1m"}
results="$repo/bench/results"
tok512="$shared/stories260K/tok512.bin"
teacher="llama2c:$shared/stories260K/stories260K.bin"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export TORCH_SHOW_CPP_STACKTRACES=1 # a libtorch error then carries its native stack into distill's crash report
"$repo/build/prerequisites.sh"
dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/KdAblation" >/dev/null
distill() { dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" "$@"; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
samples_for() { case $1 in 100k) echo 3 ;; 1m) echo 29 ;; *) echo "unknown budget $1" >&2; exit 2 ;; esac; }
steps_for() { case $1 in 100k) echo "$STEPS_100K" ;; 1m) echo "$STEPS_1M" ;; esac; }

# label|k|family|train arguments
required=(
  "SFT|0|SFT|--mode sft"
  "top-5 renormalise|5|top-k, renormalise|--mode topk --top-logprobs 5 --tail-policy renormalise"
  "top-20 renormalise|20|top-k, renormalise|--mode topk --top-logprobs 20 --tail-policy renormalise"
  "top-1 fold tail|1|top-k, fold tail into a bucket|--mode topk --top-logprobs 1 --tail-policy fold-tail-into-bucket"
  "top-5 fold tail|5|top-k, fold tail into a bucket|--mode topk --top-logprobs 5 --tail-policy fold-tail-into-bucket"
  "top-20 fold tail|20|top-k, fold tail into a bucket|--mode topk --top-logprobs 20 --tail-policy fold-tail-into-bucket"
  "top-1 uniform tail|1|top-k, uniform tail|--mode topk --top-logprobs 1 --tail-policy uniform-tail"
  "top-5 uniform tail|5|top-k, uniform tail|--mode topk --top-logprobs 5 --tail-policy uniform-tail"
  "top-20 uniform tail|20|top-k, uniform tail|--mode topk --top-logprobs 20 --tail-policy uniform-tail"
  "random-sampling KD, 12 stored|12|random-sampling KD|--mode topk --teacher-samples 12"
  "white-box KD (full)|0|white-box|--mode whitebox --teacher $teacher"
)
controls=( # the α 0.5 controls for top-k's α 1 default (top-1 keeps 0.5), and white-box random sampling
  "top-1 fold tail, α 0.5|1|top-k fold tail, α 0.5 (half SFT)|--mode topk --top-logprobs 1 --tail-policy fold-tail-into-bucket --alpha 0.5"
  "top-20 fold tail, α 0.5|20|top-k fold tail, α 0.5 (half SFT)|--mode topk --top-logprobs 20 --tail-policy fold-tail-into-bucket --alpha 0.5"
  "random-sampling KD, 12 stored, α 0.5|12|random-sampling KD, α 0.5 (half SFT)|--mode topk --teacher-samples 12 --alpha 0.5"
  "white-box, 12 fresh samples|12|white-box random sampling|--mode whitebox --teacher $teacher --teacher-samples 12"
)
slug() { echo "$1" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-'; }

for budget in $BUDGETS; do
  rows=("${required[@]}")
  [[ " $CONTROLS " == *" $budget "* ]] && rows+=("${controls[@]}")
  [[ -f "$work/runs-$budget.tsv" ]] && { log "[$budget] scored before: $work/runs-$budget.tsv"; continue; }
  data="$work/$budget/data"
  mkdir -p "$work/$budget"
  log "[$budget] labelling: $(samples_for "$budget") samples × 363 openings, top-20 + 12 sampled logprobs, ≤ $MAX_TOKENS tokens"
  distill generate --prompts "$repo/demo/story-openings.txt" --teacher "$teacher" --out "$data/train" --ledger "$work/ledger.db" \
    --top-logprobs 20 --sampled-logprobs 12 --max-tokens "$MAX_TOKENS" --temperature 1 --seed 1 --samples "$(samples_for "$budget")" >"$work/$budget/generate.log" 2>&1
  distill generate --prompts "$repo/demo/story-openings-heldout.txt" --teacher "$teacher" --out "$data/heldout" --ledger "$work/ledger.db" \
    --top-logprobs 20 --max-tokens "$MAX_TOKENS" --temperature 1 --seed 2 --samples 2 >>"$work/$budget/generate.log" 2>&1

  export OMP_NUM_THREADS=1 # tiny students: one libtorch thread per run, JOBS runs at once
  train_one() {
    local label=$1 args=$2 seed=$3
    local out="$work/$budget/students/$(slug "$label")-s$seed"
    [[ -f "$out/.done" ]] && return 0
    log "[$budget] train $label, seed $seed"
    rm -rf "$out"; mkdir -p "$work/$budget/students"
    local start; start=$(date +%s.%N)
    # shellcheck disable=SC2086 # the row's arguments are words
    distill train --data "$data/train" --out "$out" $args --student-config "$repo/demo/student.json" --tokenizer "$tok512" \
      --chat-template plain --steps "$(steps_for "$budget")" --eval-every "$(steps_for "$budget")" --batch-size "$BATCH" --seq-len "$SEQ_LEN" --lr "$LR" --seed "$seed" >"$out.log" 2>&1
    echo "$(date +%s.%N) - $start" | bc >"$out/.seconds"
    touch "$out/.done"
  }
  for seed in $SEEDS; do
    for row in "${rows[@]}"; do
      IFS='|' read -r label _ _ args <<<"$row"
      while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
      train_one "$label" "$args" "$seed" &
    done
  done
  wait
  models=()
  for seed in $SEEDS; do for row in "${rows[@]}"; do
    IFS='|' read -r label _ <<<"$row"
    [[ -f "$work/$budget/students/$(slug "$label")-s$seed/.done" ]] || { echo "training $label seed $seed failed; see its .log" >&2; exit 1; }
    models+=(--model "$label s$seed=checkpoint:$work/$budget/students/$(slug "$label")-s$seed")
  done; done
  log "[$budget] eval ${#models[@]} / 2 students on $EVAL_LIMIT held-out completions"
  distill eval --teacher "teacher=$teacher" --data "$data/heldout" --limit "$EVAL_LIMIT" --report "$work/$budget/report" --samples 0 "${models[@]}" >"$work/$budget/eval.log" 2>&1
  # Bytes the dataset stores per completion token for what each row reads: the answer's text plus, in the compact sidecar
  # (docs/dataset-format.md), the chosen token and its first k alternatives, or its 12 samples. JSON rows (older datasets)
  # count the JSON of the same fields.
  { echo "# machine: $(nproc --all) cores; $(uptime)"; python3 - "$budget" "$work/$budget" "$data/train" "${rows[@]}" <<'PY'
import json, re, sys
budget, folder, data, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
blocks = open(f"{data}/logprobs.bin", "rb").read() if __import__("os").path.exists(f"{data}/logprobs.bin") else b""
def varint(b, at):
    v = shift = 0
    while True:
        x = b[at]; at += 1; v |= (x & 0x7F) << shift; shift += 7
        if x < 0x80: return v, at
def entry(b, at):  # (index varint, half) → its size and the next offset
    _, nxt = varint(b, at); return nxt + 2 - at, nxt + 2
tokens = 0; top = {1: 0, 5: 0, 20: 0}; sampled = 0; text = 0
for line in open(f"{data}/data.jsonl"):
    row = json.loads(line)
    text += len(row["messages"][-1]["content"].encode())
    ref = row["distillery"].get("logprobs")
    if ref is None:  # JSON form
        for t in row["distillery"]["tokens"]:
            tokens += 1
            for k in top: top[k] += len(json.dumps(t["top_logprobs"][:k], separators=(",", ":")))
            sampled += len(json.dumps(t["sampled_logprobs"], separators=(",", ":")))
        continue
    at = ref["offset"]; n, at = varint(blocks, at); head = at
    for _ in range(n):
        tokens += 1
        size, at = entry(blocks, at); chosen = size
        k, after = varint(blocks, at); at = after
        alternatives = []
        for _ in range(k): size, at = entry(blocks, at); alternatives.append(size)
        s, after = varint(blocks, at); at = after
        drawn = 0
        for _ in range(max(0, s - 1)): size, at = entry(blocks, at); drawn += size
        for kk in top: top[kk] += chosen + 2 + sum(alternatives[:kk])  # the token, k's varint, k alternatives, no samples
        sampled += chosen + 2 + drawn  # the token, an empty top-k, the samples
    assert at == ref["offset"] + ref["length"], "a block does not fill its reference"
for row in rows:
    label, k, family, args = row.split("|")
    stored = text / tokens  # every row reads the text
    if "--teacher-samples 12" in args and "--mode topk" in args: stored += sampled / tokens
    elif "--top-logprobs" in args: stored += top[int(k)] / tokens
    elif "whitebox" in args: stored = 0  # nothing stored: the teacher runs beside the student
    scores = {m["Name"]: m for m in json.load(open(f"{folder}/report/scores.json"))["Models"] if m.get("Role") != "teacher"}
    for name, m in scores.items():
        found = re.fullmatch(re.escape(label) + r" s(\d+)", name)
        if not found: continue
        seed = found.group(1)
        seconds = float(open(f"{folder}/students/{re.sub('[^a-z0-9-]', '', label.lower().replace(' ', '-'))}-s{seed}/.seconds").read())
        print(f"{budget}\t{label}\t{k}\t{family}\t{seed}\t{m['BitsPerByte']}\t{m['KlToTeacher']}\t{m['Agreement']}\t{stored:.1f}\t{seconds:.1f}")
print(f"# {budget}: {tokens} teacher completion tokens", file=sys.stderr)
PY
  } >"$work/runs-$budget.tmp"
  mv "$work/runs-$budget.tmp" "$work/runs-$budget.tsv"
done
cat "$work"/runs-*.tsv >"$work/runs.tsv"
dotnet "$repo/bench/KdAblation/bin/Release/net10.0/KdAblation.dll" report --in "$work/runs.tsv" --png "$results/kd-ablation.png" | tee "$work/figures.md"
cp "$work/runs.tsv" "$results/kd-ablation.tsv" # every run and seed, so the report can be remade
log "done; outputs in $work"
