#!/usr/bin/env bash
# The chunk-start-match experiment of bench/results/cross-tokenizer.md: --chunk-start-match unambiguous-token against the
# whole-token students of a finished run.sh work folder (same data, student configuration, steps, LR and seeds), all
# scored by one distill eval. Those students were trained when whole-token was the default; rerunning run.sh today trains
# with unambiguous-token.
#   usage: bench/cross-tokenizer/chunk-start-match.sh RUN_SH_WORK_DIR OUT_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
w=${1:?the work folder of a finished run.sh}; out=${2:?an output folder}
shared=${DISTILLERY_SHARED_DATA:-$(cd ../shared/data && pwd)}
export OMP_NUM_THREADS=1
distill() { dotnet src/Distillery.Cli/bin/Release/net10.0/distill.dll "$@"; }
train() {
  local method=$1 seed=$2 dir=$out/students/$1-unambiguous-s$2
  rm -rf $dir; mkdir -p $out/students
  distill train --data $w/data/train --out $dir --mode topk --student-config $w/student-spm1024.json \
    --tokenizer tests/data/tokenizers/spm-bpe-1024/tokenizer.model --chat-template plain --steps 300 --eval-every 300 \
    --batch-size 16 --seq-len 160 --lr 0.004 --seed $seed --cross-tokenizer $method --chunk-start-match unambiguous-token --alpha 0.5 > $dir.log 2>&1
}
for seed in 1 2 3; do
  train topk-chunk-starts $seed & train alm-and-topk $seed & wait
done
models=()
for seed in 1 2 3; do
  models+=(--model "sft s$seed=checkpoint:$w/students/spm-1024-sft-s$seed")
  models+=(--model "topk-chunk-starts whole s$seed=checkpoint:$w/students/spm-1024-topk-chunk-starts-s$seed")
  models+=(--model "alm-and-topk whole s$seed=checkpoint:$w/students/spm-1024-alm-and-topk-s$seed")
  models+=(--model "topk-chunk-starts unambiguous s$seed=checkpoint:$out/students/topk-chunk-starts-unambiguous-s$seed")
  models+=(--model "alm-and-topk unambiguous s$seed=checkpoint:$out/students/alm-and-topk-unambiguous-s$seed")
done
distill eval --teacher "teacher=llama2c:$shared/stories260K/stories260K.bin" --data $w/data/heldout --limit 80 --report $out/report --samples 0 "${models[@]}" > $out/eval.log 2>&1
echo done
