using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Tokens;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Cli.Tests.Fuzzing;

/// <summary>Small valid files of every format Distillery reads, written by the project's own writers where it has them, so the fuzzer needs no shared data.</summary>
internal static class SeedFiles
{
    /// <summary>A model small enough to load in milliseconds, whose vocabulary matches <see cref="Llama2cTokenizerBytes"/>.</summary>
    public static LlamaConfig TinyConfig { get; } = new()
    {
        HiddenSize = 8,
        IntermediateSize = 16,
        NumHiddenLayers = 1,
        NumAttentionHeads = 2,
        NumKeyValueHeads = 1,
        VocabSize = 262,
        MaxPositionEmbeddings = 16,
    };

    /// <summary>A llama2.c tokenizer.bin: 3 control tokens, 256 byte tokens and three merges.</summary>
    public static byte[] Llama2cTokenizerBytes()
    {
        var pieces = new List<string> { "<unk>", "\n<s>\n", "\n</s>\n" };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        pieces.AddRange([" a", "ab", " ab"]);
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes))
        {
            w.Write(pieces.Max(p => Encoding.UTF8.GetByteCount(p)));
            for (var i = 0; i < pieces.Count; i++)
            {
                var piece = Encoding.UTF8.GetBytes(pieces[i]);
                w.Write(i < 259 ? 0f : -i);
                w.Write(piece.Length);
                w.Write(piece);
            }
        }
        return bytes.ToArray();
    }

    /// <summary>A legacy llama2.c checkpoint of <see cref="TinyConfig"/>: seven int32s, then float32 weights and the RoPE tables.</summary>
    public static byte[] Llama2cCheckpointBytes(Random random)
    {
        var c = TinyConfig;
        long d = c.HiddenSize, ff = c.IntermediateSize, v = c.VocabSize, hs = c.HeadDim;
        long q = c.NumAttentionHeads * hs, kv = c.KeyValueHeads * hs;
        var perLayer = d + q * d + 2 * kv * d + d * q + d + 3 * ff * d;
        var floats = v * d + c.NumHiddenLayers * perLayer + d + c.MaxPositionEmbeddings * hs; // shared classifier: no lm_head
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes))
        {
            foreach (var h in new[] { c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.KeyValueHeads, c.VocabSize, c.MaxPositionEmbeddings })
                w.Write(h);
            for (long i = 0; i < floats; i++) w.Write((float)(random.NextDouble() - 0.5));
        }
        return bytes.ToArray();
    }

    /// <summary>A model of <see cref="TinyConfig"/> with its llama2.c tokenizer, exported as GGUF by <see cref="LlamaGguf.Export"/>.</summary>
    public static void WriteGguf(string path)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(1);
        using var model = new LlamaForCausalLM(TinyConfig);
        LlamaGguf.Export(model, Llama2cTokenizer.FromBytes(Llama2cTokenizerBytes()), path);
    }

    /// <summary>A Hugging Face model folder (config.json and model.safetensors) of <see cref="TinyConfig"/>.</summary>
    public static void WriteCheckpointFolder(string directory)
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(2);
        using var model = new LlamaForCausalLM(TinyConfig);
        CheckpointFolder.SaveAsync(directory, model).GetAwaiter().GetResult();
    }

    /// <summary>A byte-level BPE tokenizer.json with a handful of tokens, a merge and one added token.</summary>
    public static string TokenizerJson() => """
        {"version":"1.0","added_tokens":[{"id":6,"content":"<|endoftext|>","special":true}],
         "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},"decoder":{"type":"ByteLevel"},
         "model":{"type":"BPE","vocab":{"a":0,"b":1,"c":2,"Ġ":3,"ab":4,"Ġa":5},"merges":["a b","Ġ a"]}}
        """;

    /// <summary>A model folder's <c>tiktoken.json</c>, naming the smaller of the two encodings offered.</summary>
    public static string TiktokenJson() => """{"encoding": "cl100k_base"}""";

    /// <summary>An IDX image file of <paramref name="count"/> 4×3 images, gzipped as MNIST ships it.</summary>
    public static byte[] IdxImages(int count, bool gzip)
    {
        var header = new byte[] { 0, 0, 8, 3, 0, 0, 0, (byte)count, 0, 0, 0, 4, 0, 0, 0, 3 };
        var raw = header.Concat(Enumerable.Range(0, count * 12).Select(i => (byte)(i * 7))).ToArray();
        return gzip ? Gzip(raw) : raw;
    }

    /// <summary>An IDX label file of <paramref name="count"/> labels.</summary>
    public static byte[] IdxLabels(int count) =>
        new byte[] { 0, 0, 8, 1, 0, 0, 0, (byte)count }.Concat(Enumerable.Range(0, count).Select(i => (byte)(i % 3))).ToArray();

    /// <summary>Two dataset rows as <c>distill generate</c> writes them, token logprobs included.</summary>
    public static string DatasetRows() => string.Concat(Enumerable.Range(0, 2).Select(i => """
        {"messages":[{"role":"user","content":"Say hi #I#"},{"role":"assistant","content":"Hi"}],"distillery":{"prompt_id":"p#I#","sample":0,"meta":null,"teacher":{"provider":"openai","model":"m","requested_model":"m","endpoint":"http://127.0.0.1/v1","sampling":{"temperature":1,"top_p":1,"top_k":0,"max_tokens":8,"seed":null,"stop":[],"top_logprobs":1}},"finish_reason":"stop","tokens":[{"token":"Hi","bytes":[72,105],"logprob":-0.25,"top_logprobs":[{"token":"Hi","bytes":[72,105],"logprob":-0.25}]}],"usage":{"prompt_tokens":3,"completion_tokens":1},"cost_usd":0,"request_hash":"h#I#","timestamp":"2026-01-01T00:00:00+00:00"}}

        """.ReplaceLineEndings("").Trim().Replace("#I#", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) + "\n"));

    /// <summary>A dataset folder whose rows keep their logprobs in the sidecar (tokens.bin, logprobs.bin): <see cref="DatasetRows"/> with more tokens, ids and samples.</summary>
    public static async Task WriteCompactDatasetAsync(string folder)
    {
        var rows = DatasetRows().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select((line, i) => DatasetReader.ParseRow("seed", i + 1, line)).ToList();
        static TopLogprob Top(string text, double logprob, int id) => new(text, [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)], logprob) { Id = id };
        TokenLogprob Token(int p) => new("w" + p, [119, 48 + p], -0.5 - p, [Top("w" + p, -0.5 - p, p), Top("é", -2.0, 300), Top("\n", -9.5, 10)])
        {
            Id = p,
            SampledLogprobs = p % 2 == 0 ? [Top("w" + p, -0.5 - p, p), Top("é", -2.0, 300)] : null,
        };
        await using var writer = await DatasetWriter.OpenAsync(folder);
        foreach (var row in rows) await writer.AppendAsync(row with { Distillery = row.Distillery! with { Tokens = [.. Enumerable.Range(0, 4).Select(Token)] } });
    }

    /// <summary>A model folder's lineage (distillery.json) with both dataset forms, a teacher and metrics.</summary>
    public static string Lineage() =>
        """
        {"format":"distillery-lineage/1","created":"2026-01-01T00:00:00Z","kind":"language-model","mode":"topk",
         "student":{"init":"random","parameters":1234,"tokenizer":"llama2c:tok512.bin"},
         "datasets":["data/a",{"path":"data/b","rows":2,"data_sha256":"ab"}],
         "teachers":[{"provider":"openai","model":"m","models_reported":["m-1"],"endpoint":"http://127.0.0.1/v1","rows":2,"training_tokens":10,"share":1.0}],
         "losses":"topk","steps":5,"training_tokens":10,
         "metrics":{"final_train_loss":1.5,"best_eval_loss":null,"best_eval_step":null,"eval_cross_entropy":null,"eval_kl_to_teacher":null,"stopped_early":false}}
        """;

    /// <summary>A JSONL prompts file with a chat prompt, a plain prompt and ids.</summary>
    public static string Prompts() =>
        """
        {"id":"a","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a colour."}]}
        {"id":2,"prompt":"Count to three.","meta":{"topic":"numbers"}}
        {"prompt":"Say hello."}
        """ + "\n";

    /// <summary>A pipeline file with variables, a background step and a conditional one.</summary>
    public static string Pipeline() =>
        """
        {
          // comments are allowed
          "name": "fuzz", "description": "a seed",
          "variables": {"out": "runs/x", "model": "llama2c:{out}/m.bin", "eval": "true"},
          "steps": [
            {"name": "serve", "run": ["serve", "--model", "{model}", "--port", "0"], "background": true, "ready_url": "http://127.0.0.1:1/health"},
            {"name": "eval", "run": ["eval", "--model", "{model}"], "when": "eval"},
          ]
        }
        """;

    private static byte[] Gzip(byte[] raw)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(raw);
        return memory.ToArray();
    }
}
