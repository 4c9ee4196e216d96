using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Llama;

namespace Distillery.Training.Language.Configuration;

/// <summary>Named sizes for a new student; the vocabulary always comes from the tokenizer.</summary>
public static class StudentPresets
{
    private static readonly Dictionary<string, LlamaConfig> Presets = new(StringComparer.Ordinal)
    {
        // A quarter of stories260K's parameters: for tests and the white-box-vs-SFT experiment.
        ["tiny"] = Make(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 86, context: 512),
        ["small"] = Make(hidden: 128, layers: 4, heads: 4, kvHeads: 4, intermediate: 344, context: 1024),
        // About 10M parameters at a small vocabulary (10.6M at 512 tokens): the benchmark's student.
        ["10m"] = Make(hidden: 384, layers: 6, heads: 6, kvHeads: 6, intermediate: 1024, context: 1024),
    };

    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Names => [.. Presets.Keys];

    /// <summary>The preset's config with the tokenizer's vocabulary, or a one-line error listing the names.</summary>
    public static LlamaConfig Get(string name, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Presets.TryGetValue(name, out var config))
            throw InputException.InField("--student-preset", $"'{name}' is not a preset; use one of {string.Join(", ", Presets.Keys)} or --student-config FILE");
        return (config with { VocabSize = vocabSize }).Validate($"preset {name}");
    }

    private static LlamaConfig Make(int hidden, int layers, int heads, int kvHeads, int intermediate, int context) => new()
    {
        HiddenSize = hidden,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        IntermediateSize = intermediate,
        MaxPositionEmbeddings = context,
        TieWordEmbeddings = true,
        VocabSize = 1,
    };

    /// <summary>Every preset name with its parameter count at a vocabulary size, for help text.</summary>
    public static string Describe(int vocabSize) => string.Join(", ", Presets.Select(p => $"{p.Key} ({Get(p.Key, vocabSize).ParameterCount:N0} params)"));
}
