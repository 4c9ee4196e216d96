using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Xunit;
using static TorchSharp.torch;

namespace Distillery.TestSupport.Models;

/// <summary>
/// The model families Distillery runs, each as a real published config.json (../shared/data/configs) with a real tokenizer,
/// cut to 2 layers of width 128 (heads, head width, GQA, biases, q/k norms, RoPE and vocabulary as published; Qwen2.5's
/// head width 16, since llama.cpp's qwen2 needs heads × head width = width) so a test builds one in a second. SmolLM2's and Mistral's own tokenizers are not in the shared data; they get Llama 3.1's.
/// </summary>
public static class RealFamilies
{
    /// <summary>The families' names, as theory data.</summary>
    public static TheoryData<string> Names => new() { "qwen3", "qwen2.5", "llama-3.2", "smollm2", "mistral" };

    /// <summary>Mistral-7B-v0.3's architecture fields (no config of it is in the shared data): GQA 32/8, head width 128, untied head.</summary>
    public const string MistralConfig = """
        {"architectures":["MistralForCausalLM"],"model_type":"mistral","hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,
         "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":32768,"rms_norm_eps":1e-05,"rope_theta":1000000.0,
         "max_position_embeddings":32768,"sliding_window":null,"tie_word_embeddings":false,"hidden_act":"silu","bos_token_id":1,"eos_token_id":2}
        """;

    /// <summary>The family's config, cut for speed, and its tokenizer.</summary>
    public static async Task<(LlamaConfig Config, HfTokenizer Tokenizer)> LoadAsync(string family)
    {
        var (configFile, tokenizerName) = family switch
        {
            "qwen3" => ("qwen3-0.6b.json", "qwen3"),
            "qwen2.5" => ("qwen2.5-0.5b.json", "qwen3"), // Qwen2.5 and Qwen3 share the BPE vocabulary
            "llama-3.2" => ("llama-3.2-1b.json", "llama-3.1"),
            "smollm2" => ("smollm2-135m.json", "llama-3.1"),
            "mistral" => (null, "llama-3.1"),
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "unknown family"),
        };
        var json = configFile is null ? MistralConfig : await File.ReadAllTextAsync(SharedTestData.Get($"configs/{configFile}"));
        var published = LlamaConfig.Parse(json, configFile ?? "mistral");
        var tokenizer = await HfTokenizer.LoadAsync(SharedTestData.Get($"tokenizers/{tokenizerName}/{HfTokenizer.FileName}"));
        var config = published with
        {
            NumHiddenLayers = 2,
            HiddenSize = 128,
            IntermediateSize = 256,
            HeadDimOverride = published.HeadDim, // kept as published while the width shrinks
        };
        // llama.cpp's qwen2 takes the query width to be the hidden size, so Qwen2.5 keeps its 14/2 heads at width 16.
        if (config.ModelType == "qwen2") config = config with { HiddenSize = config.NumAttentionHeads * 16, HeadDimOverride = null };
        if (tokenizer.VocabSize > config.VocabSize)
        {
            // A borrowed tokenizer brings its own vocabulary and special tokens.
            config = config with
            {
                VocabSize = tokenizer.VocabSize,
                BosTokenId = tokenizer.BosId,
                EosTokenIdRaw = JsonValue.Create(tokenizer.StopIds.First()),
            };
        }
        return (config.Validate(family), tokenizer);
    }

    /// <summary>A seeded random model whose norm scales and biases are random too, so that every tensor's mapping is tested.</summary>
    public static LlamaForCausalLM CreateRandom(LlamaConfig config, long seed = 7)
    {
        var model = LlamaForCausalLM.Create(config, seed);
        using var generator = new Generator((ulong)seed + 1);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.normal_(1.0, 0.2, generator);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.normal_(0, 0.5, generator);
        }
        return model;
    }

    /// <summary>Text that exercises the pre-tokenizers: words, digit runs, code, whitespace runs, accents, CJK and emoji (already NFC).</summary>
    public const string Text = "Once upon a time, Lily found 1234567 shiny stones (3.14 each!).\n\n    def f(x):\n\treturn x**2  # square\n" +
                               "naïve café — 東京は日本の首都です。 🙂 don't   trailing";

    /// <summary>Ids as a (1, T) int64 tensor.</summary>
    public static Tensor Ids(IReadOnlyList<int> ids) => tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);
}
