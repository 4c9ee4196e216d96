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

    public static LlamaConfig Qwen2() => Gqa(tied: true) with { ModelType = "qwen2", Architectures = ["Qwen2ForCausalLM"], RmsNormEps = 1e-6 };
}
