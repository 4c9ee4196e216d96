// Writes renderings.json: what @huggingface/jinja (npm, the renderer transformers.js uses) makes of the chat templates
// below for the conversations in conversations.json. Distillery's Jinja interpreter must give the same bytes
// (tests/Distillery.Models.Tests/Tokenizers/ChatTemplateRenderingTests.cs); make-constructs.py checks that Python's
// Jinja2, which transformers runs, agrees on every one.
//
// Templates: the real ones of ../shared/data/tokenizers/{qwen3,llama-3.1}/tokenizer_config.json (read in place; gpt-4o's
// has none), SmolLM2-Instruct's and Qwen2.5-Instruct's as published (templates/), and Distillery's built-in chatml and
// plain (src/Distillery.Models/Tokenizers/Templates/). Variables follow transformers: messages, add_generation_prompt,
// the tokenizer's special tokens (bos_token, eos_token where set), and extra arguments (Qwen3's enable_thinking).
//
// Run once, from this folder:
//   npm install            (installs the pinned @huggingface/jinja)
//   node make-renderings.mjs ../../../../shared/data
import { Template } from "@huggingface/jinja";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const shared = process.argv[2];
if (!shared) {
  console.error("usage: node make-renderings.mjs PATH/TO/shared/data");
  process.exit(2);
}
const version = JSON.parse(readFileSync(join(here, "node_modules", "@huggingface", "jinja", "package.json"), "utf8")).version;
const repo = join(here, "..", "..", "..");
const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const tokenText = (t) => (t == null ? undefined : typeof t === "string" ? t : t.content);

function fromTokenizerConfig(relative) {
  const config = JSON.parse(readFileSync(join(shared, relative), "utf8"));
  return { source: config.chat_template, bos: tokenText(config.bos_token), eos: tokenText(config.eos_token), path: relative };
}
const fromFile = (relative, bos, eos) => ({ source: readFileSync(join(repo, relative), "utf8"), bos, eos, path: relative });

const templates = {
  "qwen3": { ...fromTokenizerConfig("tokenizers/qwen3/tokenizer_config.json"), variants: [{}, { enable_thinking: true }, { enable_thinking: false }] },
  "llama-3.1": { ...fromTokenizerConfig("tokenizers/llama-3.1/tokenizer_config.json"), variants: [{}] },
  "smollm2": { ...fromFile("tests/data/chat-templates/templates/smollm2.jinja", "<|im_start|>", "<|im_end|>"), variants: [{}] },
  "qwen2.5": { ...fromFile("tests/data/chat-templates/templates/qwen2.5.jinja", undefined, "<|im_end|>"), variants: [{}] },
  "chatml": { ...fromFile("src/Distillery.Models/Tokenizers/Templates/chatml.jinja"), variants: [{}] },
  "plain": { ...fromFile("src/Distillery.Models/Tokenizers/Templates/plain.jinja"), variants: [{}] },
};
const conversations = JSON.parse(readFileSync(join(here, "conversations.json"), "utf8"));

const renderings = [];
for (const [name, t] of Object.entries(templates)) {
  const template = new Template(t.source);
  for (const [conversation, messages] of Object.entries(conversations)) {
    for (const addGenerationPrompt of [true, false]) {
      for (const variant of t.variants) {
        const variables = { messages, add_generation_prompt: addGenerationPrompt, ...variant };
        if (t.bos !== undefined) variables.bos_token = t.bos;
        if (t.eos !== undefined) variables.eos_token = t.eos;
        renderings.push({ template: name, conversation, add_generation_prompt: addGenerationPrompt, arguments: variant, text: template.render(variables) });
      }
    }
  }
}
const templateInfo = Object.fromEntries(Object.entries(templates).map(([n, t]) => [n, { path: t.path, sha256: sha256(t.source), bos_token: t.bos ?? null, eos_token: t.eos ?? null }]));
writeFileSync(join(here, "renderings.json"), JSON.stringify({ renderer: `@huggingface/jinja ${version}`, templates: templateInfo, renderings }, null, 1) + "\n");

console.log(`${renderings.length} renderings (@huggingface/jinja ${version})`);
