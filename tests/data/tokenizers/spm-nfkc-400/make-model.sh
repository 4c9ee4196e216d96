#!/usr/bin/env bash
# Makes tokenizer.model: a 400-piece SentencePiece BPE model with spm_train's DEFAULT normalisation (nmt_nfkc, extra
# whitespace removed, dummy prefix), the kind many released tokenizer.model files have, for the tests of how the
# SentencePiece loader reports that normaliser and how the offset map treats it. Trained on the same stories text as
# ../spm-bpe-1024 (pass the text file make-model.sh there leaves in SPM_WORK).
#   usage: make-model.sh TEXT_FILE      needs: apt-get install -y sentencepiece
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --byte_fallback=true so every text encodes; --character_coverage=1.0 and --num_threads=1 as for spm-bpe-1024.
spm_train --input="$1" --model_prefix="$work/spm" --model_type=bpe --vocab_size=400 --byte_fallback=true \
  --character_coverage=1.0 --num_threads=1
cp "$work/spm.model" "$here/tokenizer.model"
echo "wrote $here/tokenizer.model"
