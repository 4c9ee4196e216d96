#!/usr/bin/env bash
# Rescores the students of an earlier bench/provenance/run.sh work folder with the logprob test under every weighting
# (GreenMassWeighting: mass, context, inverse variance), without training anything: `bench/Provenance mass` per student,
# KEYS random keys for each 0% student. The run.sh of today writes the same rows itself; this is for work folders made
# before the weightings existed (bench/results/provenance.md, "how contexts are combined").
#   usage: bench/provenance/rescore.sh WORK_DIR OUT_DIR [KEYS=100]
#   then:  cat WORK_DIR/students/share-*/seed-*/scores.tsv WORK_DIR/teacher-bpb.tsv OUT_DIR/*.tsv >runs.tsv
#          dotnet bench/Provenance/bin/Release/net10.0/Provenance.dll report --in runs.tsv --png plot.png
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${DISTILLERY_SHARED_DATA:-$(cd "$repo/../shared/data" && pwd)}
work=$1 out=$2 keys=${3:-100}
export PROVENANCE_BENCH_KEY=${PROVENANCE_BENCH_KEY:-"distillery-bench-watermark-key-19"} TORCH_SHOW_CPP_STACKTRACES=1
"$repo/build/prerequisites.sh"
dotnet build -c Release -v quiet -nologo "$repo/bench/Provenance" >/dev/null
mkdir -p "$out"
for d in "$work"/students/share-*/seed-*/; do
  [[ -f $d/.done ]] || continue
  share=$(basename "$(dirname "$d")") seed=$(basename "$d")
  share=${share#share-} seed=${seed#seed-}
  f="$out/$share-$seed.tsv"
  [[ -f $f ]] && continue
  dotnet "$repo/bench/Provenance/bin/Release/net10.0/Provenance.dll" mass --share "$share" --seed "$seed" --model "checkpoint:$d" \
    --prompts "$work/probe.jsonl" --max-tokens 64 --key-env PROVENANCE_BENCH_KEY --random-keys "$([[ $share == 0 ]] && echo "$keys" || echo 0)" \
    --reference "llama2c:$shared/stories260K/stories260K.bin" >"$f.tmp" 2>"$out/$share-$seed.log"
  mv "$f.tmp" "$f"
  echo "[$(date -u +%H:%M:%S)] rescored share $share% seed $seed" >&2
done
