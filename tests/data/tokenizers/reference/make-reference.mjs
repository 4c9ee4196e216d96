// Writes reference-ids.json: the ids that transformers.js's tokenizers (npm @lenml/tokenizers) give for a set of
// varied texts with the three real tokenizers in shared/data/tokenizers. Distillery's HfTokenizer must match them
// exactly (tests/Distillery.Models.Tests/Tokenizers/RealTokenizerTests.cs).
//
// Run once, from anywhere:
//   mkdir -p /tmp/npmref && cd /tmp/npmref && npm install @lenml/tokenizers@3.7.2
//   NODE_PATH=/tmp/npmref/node_modules node make-reference.mjs ../../../../../shared/data/tokenizers
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// ES modules ignore NODE_PATH; require() honours it, so the package is loaded through require.
const require = createRequire(import.meta.url);
const { TokenizerLoader } = require("@lenml/tokenizers");
const entry = require.resolve("@lenml/tokenizers");
const version = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")).version;

const tokenizersDir = process.argv[2];
if (!tokenizersDir) {
  console.error("usage: node make-reference.mjs PATH/TO/shared/data/tokenizers");
  process.exit(2);
}

// Each text exercises one thing that tokenizers get wrong: pre-tokenizer splits, digits, whitespace runs,
// bytes of multi-byte characters, normalisation (a decomposed accent that NFC composes) and added tokens.
const texts = [
  "Once upon a time, there was a little girl named Lily.",
  "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
  "Natalia sold 48 clips in April, and 1234567 + 89.05 = 1234656.05 in 2024.",
  "  two leading spaces,   three inside\n\n\nthree newlines\t\ttabs \r\n crlf   ",
  "Emoji: 🙂👍🏽 👨‍👩‍👧 🇫🇷 ✨",
  "東京は日本の首都です。中文测试，한국어 텍스트.",
  "naïve café façade über Ångström — “quoted” ‘single’ …",
  "Cafe\u0301 re\u0301sume\u0301 n\u0303 A\u030a (decomposed accents)",
  "<|endoftext|>Hello<|endoftext|> world",
  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "I'm sure they'll say it's John's, we've I'd HE'S SHOUTING",
  "https://example.com/path?q=1&x=%20y #hash @user $HOME ~/.bashrc",
  "",
];

const result = { package: "@lenml/tokenizers", version, addSpecialTokens: false, texts, ids: {} };
for (const name of ["gpt-4o", "qwen3", "llama-3.1"]) {
  const read = (file) => JSON.parse(readFileSync(join(tokenizersDir, name, file), "utf8"));
  const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON: read("tokenizer.json"), tokenizerConfig: read("tokenizer_config.json") });
  result.ids[name] = texts.map((t) => Array.from(tokenizer.encode(t, { add_special_tokens: false })));
}

const out = join(dirname(fileURLToPath(import.meta.url)), "reference-ids.json");
writeFileSync(out, JSON.stringify(result, null, 1) + "\n");
console.log(`wrote ${out}: ${texts.length} texts × ${Object.keys(result.ids).length} tokenizers`);
