#!/usr/bin/env bash
# Makes tokenizer.model, the 1,024-piece SentencePiece BPE student tokenizer (issue 14), and expected-ids.json,
# the ids Debian's spm_encode gives for a few texts, which the SentencePiece loader's test compares against.
#
# Teacher text: stories260K (a local llama2c: teacher) completes each of the demo's 363 story openings twice with
# `distill generate` at temperature 1; the model is trained on the openings and completions together, which is the
# text a student sees in training.
#   usage: make-model.sh [SHARED_DATA]   (default: ../shared/data beside the checkout)
#   needs: apt-get install -y sentencepiece python3
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
shared=${1:-$(cd "$repo/../shared/data" && pwd)}
# SPM_WORK keeps the generated dataset (generate resumes it) and the training text; by default both are temporary.
if [[ -n "${SPM_WORK:-}" ]]; then work=$SPM_WORK; mkdir -p "$work"; else work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

"$repo/distill" generate --prompts "$repo/demo/story-openings.txt" --teacher "llama2c:$shared/stories260K/stories260K.bin" \
  --out "$work/data" --samples 2 --max-tokens 160 --temperature 1 --seed 1 --top-logprobs 1
python3 - "$work/data/data.jsonl" "$work/text.txt" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as rows, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in rows:
        # A row's messages are the opening (user) and the teacher's completion (assistant), which continues it.
        text = "".join(m["content"] for m in json.loads(line)["messages"] if m["role"] in ("user", "assistant"))
        # spm_train reads one sentence a line; a story's own newlines would split it, so they become spaces.
        out.write(" ".join(text.split("\n")).strip() + "\n")
PY

# --model_type=bpe --vocab_size=1024: the issue's student tokenizer, twice tok512's vocabulary, so it differs from it.
# --byte_fallback=true: any byte the pieces cannot spell becomes <0xNN>, so the tokenizer encodes every text.
# --character_coverage=1.0: every character of the training text gets a piece (none left to <unk>).
# --normalization_rule_name=identity: no NFKC, so the tokens spell the text byte for byte (the default nmt_nfkc rewrites it).
# --remove_extra_whitespaces=false: runs of spaces are text, kept as the teacher wrote them.
# --num_threads=1: one thread, so the same text gives the same model. Other flags keep their defaults: the corpus
#   (726 stories, about 0.5 MB) is far under --input_sentence_size, so nothing is sampled away.
spm_train --input="$work/text.txt" --model_prefix="$work/spm" --model_type=bpe --vocab_size=1024 --byte_fallback=true \
  --character_coverage=1.0 --normalization_rule_name=identity --remove_extra_whitespaces=false --num_threads=1
cp "$work/spm.model" "$here/tokenizer.model"

# Expected ids for the loader's test: spm_encode --output_format=id, one text a line (so no text holds a newline).
texts=(
  "Once upon a time, there was a little girl named Lily."
  "  two leading spaces,   three inside and a tab	here"
  "Emoji 🙂 and 東京 fall back to bytes; naïve café."
  "Tom said, \"I have 12345 apples!\" 3.14"
  "x"
)
python3 - "$here/tokenizer.model" "$here/expected-ids.json" "${texts[@]}" <<'PY'
import json, subprocess, sys
model, out, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
ids = []
for t in texts:
    line = subprocess.run(["spm_encode", f"--model={model}", "--output_format=id"], input=t + "\n", capture_output=True, text=True, check=True).stdout
    ids.append([int(x) for x in line.split()])
version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "sentencepiece"], capture_output=True, text=True).stdout
with open(out, "w", encoding="utf-8") as f:
    json.dump({"tool": f"spm_encode (Debian sentencepiece {version})", "texts": texts, "ids": ids}, f, ensure_ascii=False, indent=1)
    f.write("\n")
PY
echo "wrote $here/tokenizer.model and expected-ids.json"
