// Writes reference-ids.json: what transformers.js's tokenizers (npm @lenml/tokenizers) make of the tokenizer folders
// Distillery's Hugging Face export writes (tokenizer.json + tokenizer_config.json), for a fixed set of texts and one
// chat rendered from the folder's tokenizer_config.json (chat_template, bos_token, eos_token) by @huggingface/jinja,
// the renderer transformers.js uses (@lenml/tokenizers bundles an older one that cannot parse Qwen3's template). Distillery must encode the same texts to the same ids, through the
// original tokenizer and through the exported folder reloaded
// (tests/Distillery.Models.Tests/Tokenizers/HfTokenizerExportTests.cs).
//
// Run once, from anywhere, after the test has written the folders (the large tokenizer.json files are not committed):
//   DISTILLERY_WRITE_HF_EXPORT=$PWD dotnet test tests/Distillery.Models.Tests -c Release --filter HfTokenizerExportTests
//   mkdir -p /tmp/npmref && cd /tmp/npmref && npm install @lenml/tokenizers@3.7.2 @huggingface/jinja@0.5.13
//   NODE_PATH=/tmp/npmref/node_modules node make-reference.mjs
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// ES modules ignore NODE_PATH; require() honours it, so the package is loaded through require.
const require = createRequire(import.meta.url);
const { TokenizerLoader } = require("@lenml/tokenizers");
const { Template } = require("@huggingface/jinja");
const versionOf = (name) => {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir))
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (pkg.name === name) return pkg.version;
    } catch {}
  return "unknown";
};
const here = dirname(fileURLToPath(import.meta.url));

// ASCII, code, digits, whitespace runs (leading, inside, trailing, tabs, CRLF), emoji (ZWJ, flags, skin tones), CJK,
// accents composed and decomposed, full-width and ligature characters (NFKC changes them), and the empty text.
const texts = [
  "Once upon a time, there was a little girl named Lily.",
  "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
  "Natalia sold 48 clips in April, and 1234567 + 89.05 = 1234656.05 in 2024.",
  "  two leading spaces,   three inside\n\n\nthree newlines\t\ttabs \r\n crlf   ",
  "Emoji: 🙂👍🏽 👨‍👩‍👧 🇫🇷 ✨",
  "東京は日本の首都です。中文测试，한국어 텍스트.",
  "naïve café façade über Ångström — “quoted” ‘single’ …",
  "Cafe\u0301 re\u0301sume\u0301 n\u0303 A\u030a (decomposed accents)",
  "Ｆｕｌｌ ｗｉｄｔｈ ＡＢＣ １２３ and ﬁ ligature, ½ and ™",
  "I'm sure they'll say it's John's, we've I'd HE'S SHOUTING",
  "https://example.com/path?q=1&x=%20y #hash @user $HOME ~/.bashrc",
  " x",
  "",
];

// One conversation: system, a turn of history, unicode; rendered with the generation prompt.
const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Hi! 🙂 Can you add 2 + 3?" },
  { role: "assistant", content: "Sure: 2 + 3 = 5." },
  { role: "user", content: "Thanks — and what is naïve café in 東京?" },
];

const folders = ["tok512", "spm-bpe-1024", "spm-nfkc-400", "o200k_base", "qwen3", "llama-3.1"];
const result = { package: `@lenml/tokenizers ${versionOf("@lenml/tokenizers")}`, renderer: `@huggingface/jinja ${versionOf("@huggingface/jinja")}`, texts, messages, addSpecialTokens: false, folders: {} };
for (const name of folders) {
  const read = (file) => JSON.parse(readFileSync(join(here, name, file), "utf8"));
  const config = read("tokenizer_config.json");
  const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON: read("tokenizer.json"), tokenizerConfig: config });
  const chat = new Template(config.chat_template).render({ messages, add_generation_prompt: true, bos_token: config.bos_token, eos_token: config.eos_token });
  result.folders[name] = {
    ids: texts.map((t) => Array.from(tokenizer.encode(t, { add_special_tokens: false }))),
    // What the post-processor adds: BOS first where the tokenizer has one.
    idsWithSpecialTokens: Array.from(tokenizer.encode(texts[0], { add_special_tokens: true })),
    chat,
    chatIds: Array.from(tokenizer.encode(chat, { add_special_tokens: false })),
  };
}

const out = join(here, "reference-ids.json");
writeFileSync(out, JSON.stringify(result, null, 1) + "\n");
console.log(`wrote ${out}: ${texts.length} texts + 1 chat × ${folders.length} tokenizer folders`);
