using Distillery.Models.Llama;

namespace Distillery.Models.Tests;

/// <summary>Small random-model configs that exercise GQA, biases and an untied head in milliseconds.</summary>
internal static class TinyConfigs
{
    public static LlamaConfig Gqa(bool tied = false) => new()
    {
        HiddenSize = 32,
        IntermediateSize = 48,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 300,
        MaxPositionEmbeddings = 64,
        RopeTheta = 500000,
        TieWordEmbeddings = tied,
    };

    /// <summary>Qwen3's shape: per-head q/k norms, a head width (16) that is not hidden / heads (8), no biases.</summary>
    public static LlamaConfig Qwen3() => Gqa(tied: true) with { ModelType = "qwen3", HeadDimOverride = 16, RmsNormEps = 1e-6 };

    /// <summary>Llama 3.x's shape: GQA and "llama3" RoPE scaling, with a short original context so the band covers several frequencies.</summary>
    public static LlamaConfig Llama3() => Gqa(tied: true) with
    {
        HeadDimOverride = 32,
        RopeTheta = 10000, // wavelengths 19.9, 35.3 and 62.8 fall in the blended band [64/4, 64]
        RopeScaling = new System.Text.Json.Nodes.JsonObject
        {
            ["factor"] = 32.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0, ["original_max_position_embeddings"] = 64, ["rope_type"] = "llama3",
        },
    };

    public static LlamaConfig Qwen2() => Gqa(tied: true) with { ModelType = "qwen2", Architectures = ["Qwen2ForCausalLM"], RmsNormEps = 1e-6 };
}
