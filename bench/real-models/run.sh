#!/usr/bin/env bash
# Issue 15's benchmark on SmolLM2-135M's config with random weights, in one go:
#   training tokens/s and MFU (Distillery trainer against a plain TorchSharp step, same model, same run; target >= 90%),
#   greedy decode tok/s against llama.cpp on the same GGUF (f32, q8_0), load time and peak RSS.
# Writes bench/results/real-models.md's "Throughput" section (everything above it is kept).
# Small by default; a quiet machine: STEPS=20 SEQ=512 BATCH=4 TOKENS=128 ROUNDS=5 bench/real-models/run.sh
# LoRA row: LORA_RANK=8 (default; LORA_RANK= leaves it out).
# TINY=1 (the smoke test): 2 layers, 2 steps, batch 1 x 64, 8 tokens.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
config="${CONFIG:-$root/../shared/data/configs/smollm2-135m.json}"
[ -f "$config" ] || config=/work/shared/data/configs/smollm2-135m.json
lora_rank="${LORA_RANK-8}" steps="${STEPS:-6}" seq="${SEQ:-256}" batch="${BATCH:-4}" tokens="${TOKENS:-64}" rounds="${ROUNDS:-3}" layers_flag=()
if [ "${TINY:-0}" = 1 ]; then steps=2 seq=64 batch=1 tokens=8 rounds=1 layers_flag=(--layers 2); fi
bin="$(mktemp -d)"; trap 'rm -rf "$bin"' EXIT

dotnet build -c Release Distillery.slnx -v quiet -nologo >/dev/null
run() { dotnet "bench/$1/bin/Release/net10.0/$1.dll" "${@:2}"; }
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

run TrainingBench "$steps" --config "$config" --batch "$batch" --seq-len "$seq" "${layers_flag[@]}" --out "$bin/training.md" \
  ${lora_rank:+--lora-rank "$lora_rank"}
run DecodeBench --config "$config" --tokens "$tokens" --rounds "$rounds" "${layers_flag[@]}" --dir "$bin" > "$bin/decode.md"
model="$bin/load-model"
rm -rf "$model"
run LoadBench write "$model" --config smollm2-135m "${layers_flag[@]}" > /dev/null
run LoadBench load "$model" > "$bin/load.txt"
rm -rf "$model"

out=bench/results/real-models.md
marker="## Throughput (bench/real-models/run.sh)"
# Everything from the marker on is this script's: cut it (awk's index() takes the marker literally, brackets and all).
awk -v m="$marker" 'index($0, m) == 1 { exit } { print }' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
{
  echo "$marker"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M') UTC: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) threads, $(free -g | awk '/Mem:/{print $2}') GiB;"
  echo "load average before \`$load_before\`, after \`$(cut -d' ' -f1-3 /proc/loadavg)\`. Settings: steps=$steps seq=$seq batch=$batch tokens=$tokens rounds=$rounds$( [ "${TINY:-0}" = 1 ] && echo " (TINY: 2 layers, a smoke test, not a measurement)")."
  echo
  echo "### Training"
  echo
  sed -n '/^Student/,$p' "$bin/training.md"
  echo
  echo "### Greedy decode against llama.cpp (same GGUF)"
  echo
  cat "$bin/decode.md"
  echo
  echo "### Load (bf16 safetensors folder into float32)"
  echo
  echo '```'
  cat "$bin/load.txt"
  echo '```'
} >> "$out"
echo "wrote $out"
