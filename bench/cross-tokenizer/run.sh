#!/usr/bin/env bash
# Issue 14's benchmark: cross-tokenizer distillation against same-tokenizer top-k KD, coverage on real tokenizer pairs,
# alignment speed. Writes bench/results/cross-tokenizer.md and cross-tokenizer-quality.png.
#
# Quality: stories260K is served over the OpenAI API (`distill serve`, as `distill demo` does) and labels the demo's story
# openings with top-20 logprobs (`distill generate`). Students of the demo's architecture (student.json), differing only in
# the vocabulary, train on that data with the same steps, LR and seeds: a tok512 student (the teacher's tokenizer) by SFT
# and by top-k KD, an SPM-1024 student (tests/data/tokenizers/spm-bpe-1024) by SFT and by each cross-tokenizer method.
# `distill eval` scores them on held-out openings: bits per byte, and top-1 agreement with the local teacher.
#   usage: bench/cross-tokenizer/run.sh [WORK_DIR]      (default: a temporary folder)
#   settings (environment): SEEDS="1 2 3" STEPS=600 SAMPLES=3 MAX_TOKENS=160 HELDOUT_SAMPLES=2 EVAL_LIMIT=80 LR=0.004 PORT=8391 JOBS=2
#   STAGES="data quality coverage speed" runs only some stages (each reuses the work folder's earlier output).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-600}
SAMPLES=${SAMPLES:-3}
MAX_TOKENS=${MAX_TOKENS:-160}
HELDOUT_SAMPLES=${HELDOUT_SAMPLES:-2}
EVAL_LIMIT=${EVAL_LIMIT:-80}
LR=${LR:-0.004}
BATCH=${BATCH:-16}
SEQ_LEN=${SEQ_LEN:-160}
PORT=${PORT:-8391}
JOBS=${JOBS:-2}
STAGES=${STAGES:-"data quality coverage speed report"}
results="$repo/bench/results"
spm="$repo/tests/data/tokenizers/spm-bpe-1024/tokenizer.model"
tok512="$shared/stories260K/tok512.bin"
teacher="llama2c:$shared/stories260K/stories260K.bin"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
export TORCH_SHOW_CPP_STACKTRACES=1 # a libtorch error then carries its native stack into distill's crash report
"$repo/build/prerequisites.sh"
dotnet build -c Release -v quiet -nologo "$repo/src/Distillery.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/CrossTokenizerBench" >/dev/null
distill() { dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" "$@"; }
bench() { dotnet "$repo/bench/CrossTokenizerBench/bin/Release/net10.0/CrossTokenizerBench.dll" "$@"; }
has() { [[ " $STAGES " == *" $1 "* ]]; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# The students: the demo's architecture; only vocab_size differs (it follows the tokenizer).
python3 - "$repo/demo/student.json" "$work" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
for name, vocab in (("student-tok512.json", 512), ("student-spm1024.json", 1024)):
    json.dump(dict(config, vocab_size=vocab), open(f"{sys.argv[2]}/{name}", "w"), indent=1)
PY

if has data; then
  log "serving stories260K on port $PORT; generating $SAMPLES×363 training and $HELDOUT_SAMPLES×40 held-out completions (top-20 logprobs, ≤ $MAX_TOKENS tokens)"
  # dotnet itself in the background (not the distill function's subshell), so that $! is the server and kill stops it.
  dotnet "$repo/src/Distillery.Cli/bin/Release/net10.0/distill.dll" serve --model "$teacher" --name stories260K --port "$PORT" >"$work/serve.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 1; done
  for split in train heldout; do
    prompts=$repo/demo/story-openings.txt; samples=$SAMPLES
    [[ $split == heldout ]] && prompts=$repo/demo/story-openings-heldout.txt && samples=$HELDOUT_SAMPLES
    # The held-out set uses another seed, so its completions are not the training ones.
    seed=1; [[ $split == heldout ]] && seed=2
    distill generate --prompts "$prompts" --teacher openai:stories260K --base-url "http://127.0.0.1:$PORT/v1" --out "$work/data/$split" \
      --top-logprobs 20 --max-tokens "$MAX_TOKENS" --temperature 1 --seed "$seed" --samples "$samples" --concurrency 4 >"$work/generate-$split.log" 2>&1
  done
  kill $server; wait $server 2>/dev/null || true; trap - EXIT
fi

# label|tokenizer|mode|method|chunk-start match
rows=(
  "tok512 SFT|tok512|sft||"
  "tok512 top-k KD|tok512|topk||"
  "SPM-1024 SFT|spm1024|sft||"
  "SPM-1024 alm|spm1024|topk|alm|"
  "SPM-1024 topk-chunk-starts, prefix|spm1024|topk|topk-chunk-starts|prefix"
  "SPM-1024 alm-and-topk, prefix|spm1024|topk|alm-and-topk|prefix"
  "SPM-1024 topk-chunk-starts, unambiguous-token|spm1024|topk|topk-chunk-starts|unambiguous-token"
  "SPM-1024 alm-and-topk, unambiguous-token|spm1024|topk|alm-and-topk|unambiguous-token"
  "tok512 white-box KD|tok512|whitebox||"
  "SPM-1024 white-box uld|spm1024|whitebox|uld|"
  "SPM-1024 white-box hybrid|spm1024|whitebox|hybrid|"
  "SPM-1024 white-box topk-chunk-starts, prefix|spm1024|whitebox|topk-chunk-starts|prefix"
)
slug() { echo "$1" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-'; }

if has quality; then
  # One libtorch thread per run and JOBS runs at once: these students are tiny, so one thread each uses the cores best.
  export OMP_NUM_THREADS=1
  train_one() {
    local label=$1 tok=$2 mode=$3 method=$4 match=$5 seed=$6
    local out="$work/students/$(slug "$label")-s$seed"
    [[ -f "$out/.done" ]] && return 0
    local tokenizer=$tok512; [[ $tok == spm1024 ]] && tokenizer=$spm
    local extra=(); [[ -n $method ]] && extra=(--cross-tokenizer "$method"); [[ -n $match ]] && extra+=(--chunk-start-match "$match")
    [[ $mode == whitebox ]] && extra+=(--teacher "$teacher")  # the local teacher's full distribution
    log "train $label, seed $seed"
    rm -rf "$out"; mkdir -p "$work/students"
    distill train --data "$work/data/train" --out "$out" --mode "$mode" --student-config "$work/student-$tok.json" --tokenizer "$tokenizer" \
      --chat-template plain --steps "$STEPS" --eval-every "$STEPS" --batch-size "$BATCH" --seq-len "$SEQ_LEN" --lr "$LR" --seed "$seed" "${extra[@]}" >"$out.log" 2>&1
    touch "$out/.done"
  }
  for seed in $SEEDS; do
    for row in "${rows[@]}"; do
      IFS='|' read -r label tok mode method match <<<"$row"
      while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
      train_one "$label" "$tok" "$mode" "$method" "$match" "$seed" &
    done
  done
  wait
  for seed in $SEEDS; do for row in "${rows[@]}"; do
    IFS='|' read -r label _ <<<"$row"; [[ -f "$work/students/$(slug "$label")-s$seed/.done" ]] || { echo "training $label seed $seed failed; see its .log" >&2; exit 1; }
  done; done
  models=()
  for seed in $SEEDS; do for row in "${rows[@]}"; do
    IFS='|' read -r label _ <<<"$row"; models+=(--model "$label s$seed=checkpoint:$work/students/$(slug "$label")-s$seed")
  done; done
  log "eval ${#models[@]} / 2 students on $EVAL_LIMIT held-out completions"
  distill eval --teacher "teacher=$teacher" --data "$work/data/heldout" --limit "$EVAL_LIMIT" --report "$work/report" --samples 0 "${models[@]}" >"$work/eval.log" 2>&1
  python3 - "$work/report/scores.json" "$work/quality.tsv" <<'PY'
import json, re, sys
scores = json.load(open(sys.argv[1]))["Models"]
with open(sys.argv[2], "w") as out:
    for m in scores:
        if m.get("Role") == "teacher": continue
        label, seed = re.fullmatch(r"(.*) s(\d+)", m["Name"]).groups()
        vocab = "tok512 (teacher's, 512)" if label.startswith("tok512") else "SPM BPE 1,024"
        # One tokenizer: every token is a one-to-one chunk, so per-token agreement is the one-to-one-chunk agreement.
        agree = m["ChunkAgreement"] if m.get("ChunkAgreement") is not None else m["Agreement"]
        out.write(f"{label}\t{vocab}\t{seed}\t{m['BitsPerByte']}\t{agree}\t{m['Parameters']}\n")
PY
  bench quality --in "$work/quality.tsv" --png "$results/cross-tokenizer-quality.png" >"$work/quality.md"
fi

if has coverage; then
  log "coverage on real tokenizer pairs"
  bench coverage --data "$work/data/train" >"$work/coverage.md"
  # Why top-k at chunk starts can cost likelihood: stored alternatives that are one student token but begin a longer one.
  bench prefixes --data "$work/data/train" --student "$spm" >"$work/prefixes.txt"
fi

if has speed; then
  log "alignment speed"
  { nproc --all; uptime; } >"$work/machine.txt"  # --all: OMP_NUM_THREADS=1 above would make nproc say 1
  bench speed --data "$work/data/train" --student "$spm" --rounds 5 >"$work/speed.txt"
  # One training step's time: the cross-tokenizer runs' metrics (wall time per step), median over their steps.
  python3 - "$work/students" >"$work/step.txt" <<'PY'
import glob, json, statistics, sys
times = []
for f in glob.glob(f"{sys.argv[1]}/spm-1024-alm*/metrics.jsonl"):
    rows = [json.loads(l) for l in open(f) if l.strip()]
    rows = [r for r in rows if "elapsed_s" in r or "step_ms" in r]
    if not rows: continue
    if "step_ms" in rows[0]: times += [r["step_ms"] / 1000 for r in rows]
    else:
        for a, b in zip(rows, rows[1:]):
            if b["step"] > a["step"]: times.append((b["elapsed_s"] - a["elapsed_s"]) / (b["step"] - a["step"]))
print(statistics.median(times) if times else "nan")
PY
fi
if has report; then
  # The figures as Markdown (bench/results/cross-tokenizer.md takes them, with the analysis written around them).
  python3 - "$work" "$STEPS" "$BATCH" "$SEQ_LEN" <<'PY'
import statistics as st, sys
work, steps, batch, seq_len = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [l.rstrip("\n").split("\t") for l in open(f"{work}/quality.tsv") if l.strip()]
bpb = {}
for label, _, seed, b, *_ in rows: bpb.setdefault(label, []).append(float(b))
def gain(base, other):
    d = [x - y for x, y in zip(bpb[base], bpb[other])]  # per seed: same init seed, same data order
    return st.mean(d), (st.stdev(d) if len(d) > 1 else 0.0)
with open(f"{work}/figures.md", "w") as out:
    out.write(open(f"{work}/quality.md").read() + "\n")
    same = {}
    for kind, row in (("top-k", "tok512 top-k KD"), ("white-box", "tok512 white-box KD")):
        if row not in bpb: continue
        same[kind] = gain("tok512 SFT", row)
        out.write(f"Same-tokenizer {kind} gain (tok512 SFT − {row}, per seed): {same[kind][0]:.4f} ± {same[kind][1]:.4f} bits per byte\n\n")
    out.write("| cross-tokenizer method | gain over SPM-1024 SFT, bits per byte (per seed, mean ± sd) | share of the same-tokenizer gain (same kind) |\n| --- | ---: | ---: |\n")
    for label in (l for l in bpb if l.startswith("SPM-1024 ") and l != "SPM-1024 SFT"):
        g, sd = gain("SPM-1024 SFT", label)
        reference = same["white-box" if "white-box" in label else "top-k"][0]
        out.write(f"| {label[len('SPM-1024 '):]} | {g:.4f} ± {sd:.4f} | {100 * g / reference:.0f}% |\n")
    out.write("Stored top-k alternatives on one student token that begins a longer student token: " + open(f"{work}/prefixes.txt").read() + "\n")
    out.write("\n" + open(f"{work}/coverage.md").read() + "\n")
    speed = dict(kv.split("=") for kv in open(f"{work}/speed.txt").read().split())
    step = float(open(f"{work}/step.txt").read())
    # A step trains on BATCH rows; preparing them across tokenizers costs BATCH rows' share of the whole dataset's time.
    rows_n = int(speed["rows"])
    align = float(speed["align_s"]) / rows_n * batch; build = float(speed["build_s"]) / rows_n * batch
    out.write(f"\nSpeed ({rows_n} rows, {int(speed['tokens']):,} teacher + student tokens, best of 5): alignment alone {float(speed['align_tokens_per_s']):,.0f} tokens/s, "
              f"whole cross-tokenizer preparation (student encoding, offset maps, alignment, chunk shifting) {float(speed['build_tokens_per_s']):,.0f} tokens/s. "
              f"One training step (batch {batch}, SPM-1024 alm* runs, median) takes {step * 1000:.0f} ms; its {batch} rows take {align * 1000:.3f} ms to align "
              f"({100 * align / step:.3f}% of the step) and {build * 1000:.2f} ms to prepare whole ({100 * build / step:.2f}%).\n\n")
    out.write("Machine: " + open(f"{work}/machine.txt").read().replace("\n", "; ") + "\n")
PY
  cat "$work/figures.md"
fi
log "done; outputs in $work"
