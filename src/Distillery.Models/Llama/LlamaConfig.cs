using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Models.Llama;

/// <summary>The blueprint of a Llama-family decoder (Llama 2/3, SmolLM2, Mistral, Qwen2/2.5, Qwen3), read from and written to Hugging Face <c>config.json</c>.</summary>
public sealed record LlamaConfig
{
    /// <summary>The Hugging Face model type: "llama", "mistral", "qwen2" or "qwen3".</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";

    /// <summary>The Hugging Face class names, e.g. <c>LlamaForCausalLM</c>; null means the model type's own (<see cref="ArchitectureOf"/>).</summary>
    [JsonPropertyName("architectures")] public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary>Width of the residual stream (d).</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }

    /// <summary>Width of the SwiGLU MLP's hidden layer.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }

    /// <summary>Number of decoder blocks.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads (grouped-query attention); null means equal to the query heads.</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }

    /// <summary>Per-head width; null means hidden_size / num_attention_heads.</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; init; }

    /// <summary>Vocabulary size (rows of the embedding and the LM head).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }

    /// <summary>Epsilon inside RMSNorm.</summary>
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-5;

    /// <summary>Rotary embedding base.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Longest sequence (positions) the model supports.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>Whether the LM head shares the token embedding matrix.</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }

    /// <summary>Whether q/k/v projections carry biases (true for Qwen2); null means the model type's default.</summary>
    [JsonPropertyName("attention_bias")] public bool? AttentionBiasOverride { get; init; }

    /// <summary>The MLP activation; only "silu" is supported.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";

    /// <summary>Standard deviation of the random initialisation.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;

    /// <summary>Beginning-of-sequence token id, where the model has one.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence token id(s): HF writes a number or a list.</summary>
    [JsonPropertyName("eos_token_id")] public JsonNode? EosTokenIdRaw { get; init; }

    /// <summary>The dtype the weights were saved in ("float32", "bfloat16", ...); informative only.</summary>
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; } = "float32";

    /// <summary>RoPE scaling (Llama 3.1 "llama3" type is supported); null for none.</summary>
    [JsonPropertyName("rope_scaling")] public JsonObject? RopeScaling { get; init; }

    /// <summary>Mistral's and Qwen2's sliding attention window; Distillery attends to the whole context, so it must not be narrower than that.</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }

    /// <summary>Qwen2's switch for the sliding window (false in every released Qwen2/2.5 model).</summary>
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; init; }

    /// <summary>The model types this decoder implements.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["llama", "mistral", "qwen2", "qwen3"];

    /// <summary>The Hugging Face class each model type is saved as.</summary>
    public static string ArchitectureOf(string modelType) => modelType switch
    {
        "qwen2" => "Qwen2ForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        "mistral" => "MistralForCausalLM",
        _ => "LlamaForCausalLM",
    };

    /// <summary>Key/value heads, resolved.</summary>
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Per-head width, resolved.</summary>
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? (NumAttentionHeads == 0 ? 0 : HiddenSize / NumAttentionHeads);

    /// <summary>Whether q/k/v projections carry biases, resolved (Qwen2 has them by default).</summary>
    [JsonIgnore] public bool AttentionBias => AttentionBiasOverride ?? ModelType == "qwen2";

    /// <summary>Whether queries and keys pass through a per-head RMSNorm before rotary (Qwen3).</summary>
    [JsonIgnore] public bool QkNorm => ModelType == "qwen3";

    /// <summary>End-of-sequence ids, resolved from the number-or-list field.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> EosTokenIds => EosTokenIdRaw switch
    {
        null => [],
        JsonArray a => a.Where(n => n is not null).Select(n => n!.GetValue<int>()).ToArray(),
        JsonValue v => [v.GetValue<int>()],
        _ => [],
    };

    /// <summary>The longest context Distillery builds rotary tables for.</summary>
    public const int MaxContextLength = 1 << 20;

    /// <summary>Checks every field and throws an <see cref="InputException"/> naming the first bad one.</summary>
    public LlamaConfig Validate(string source = "config.json")
    {
        if (!SupportedModelTypes.Contains(ModelType))
            throw Bad(source, "model_type", $"'{ModelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)} (Llama-family decoders)");
        foreach (var arch in Architectures ?? [])
            if (arch != ArchitectureOf(ModelType))
                throw Bad(source, "architectures", $"'{arch}' does not match model_type '{ModelType}' (expected {ArchitectureOf(ModelType)})");
        Positive(source, "hidden_size", HiddenSize);
        Positive(source, "intermediate_size", IntermediateSize);
        Positive(source, "num_hidden_layers", NumHiddenLayers);
        Positive(source, "num_attention_heads", NumAttentionHeads);
        Positive(source, "vocab_size", VocabSize);
        Positive(source, "max_position_embeddings", MaxPositionEmbeddings);
        // The rotary tables are built for every position up front: a corrupt header must not ask for billions.
        if (MaxPositionEmbeddings > MaxContextLength) throw Bad(source, "max_position_embeddings", $"{MaxPositionEmbeddings} is more than the {MaxContextLength:N0} positions Distillery supports");
        if (NumKeyValueHeads is { } kv)
        {
            Positive(source, "num_key_value_heads", kv);
            if (NumAttentionHeads % kv != 0)
                throw Bad(source, "num_key_value_heads", $"{kv} must divide num_attention_heads ({NumAttentionHeads})");
        }
        if (HeadDimOverride is { } hd) Positive(source, "head_dim", hd);
        else if (HiddenSize % NumAttentionHeads != 0)
            throw Bad(source, "num_attention_heads", $"{NumAttentionHeads} must divide hidden_size ({HiddenSize}), or give head_dim");
        if (HeadDim % 2 != 0) throw Bad(source, "head_dim", $"{HeadDim} must be even for rotary embeddings");
        if (!(RmsNormEps > 0) || double.IsInfinity(RmsNormEps)) throw Bad(source, "rms_norm_eps", $"{RmsNormEps} must be a positive number");
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta)) throw Bad(source, "rope_theta", $"{RopeTheta} must be a positive number");
        if (HiddenAct != "silu") throw Bad(source, "hidden_act", $"'{HiddenAct}' is not supported; only 'silu' (SwiGLU)");
        if (RopeScaling is not null)
        {
            var type = RopeScaling["rope_type"]?.ToString() ?? RopeScaling["type"]?.ToString();
            if (type is not ("llama3" or "default"))
                throw Bad(source, "rope_scaling", $"type '{type}' is not supported; only 'llama3' or none");
            try { _ = Rotary.InverseFrequencies(HeadDim, RopeTheta, RopeScaling); }
            catch (FormatException e) { throw Bad(source, "rope_scaling", e.Message); }
        }
        // Distillery attends to every earlier position: a window narrower than the context would change the model's output.
        var windowed = ModelType == "mistral" || (ModelType == "qwen2" && UseSlidingWindow == true);
        if (windowed && SlidingWindow is { } window && window < MaxPositionEmbeddings)
            throw Bad(source, "sliding_window", $"{window} is narrower than max_position_embeddings ({MaxPositionEmbeddings}); sliding-window attention is not supported (set it to null or to the context length)");
        try { _ = EosTokenIds; }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw Bad(source, "eos_token_id", "must be an integer or a list of integers");
        }
        return this;
    }

    /// <summary>The number of trainable parameters, in closed form; an <see cref="OverflowException"/> where the sizes are beyond any real model.</summary>
    [JsonIgnore]
    public long ParameterCount
    {
        get
        {
            // Checked: sizes from a corrupt header overflow a long, and must not wrap round to a small count.
            checked
            {
                long d = HiddenSize, v = VocabSize, ff = IntermediateSize, hs = HeadDim;
                long q = NumAttentionHeads * hs, kv = KeyValueHeads * hs;
                var attention = d * q + 2 * d * kv + q * d + (AttentionBias ? q + 2 * kv : 0) + (QkNorm ? 2 * hs : 0);
                var mlp = 3 * d * ff;
                var block = attention + mlp + 2 * d;
                return v * d + NumHiddenLayers * block + d + (TieWordEmbeddings ? 0 : v * d);
            }
        }
    }

    /// <summary>Options that read and write config.json as Hugging Face does.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Parses config.json text and validates it; errors name the file and the field.</summary>
    public static LlamaConfig Parse(string json, string source = "config.json")
    {
        LlamaConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LlamaConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 1 } p ? $"field '{p.TrimStart('$', '.')}'" : $"line {e.LineNumber + 1}";
            throw InputException.InFile(source, $"{where}: not a valid Llama config ({ErrorText.FirstLine(e).Split(". Path")[0]})");
        }
        if (config is null) throw InputException.InFile(source, "is empty; expected a JSON object with hidden_size, num_hidden_layers, ...");
        return config.Validate(source);
    }

    /// <summary>Reads and validates a config.json file.</summary>
    public static async Task<LlamaConfig> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found; a model folder needs a config.json");
        return Parse(await File.ReadAllTextAsync(path, cancellationToken), path);
    }

    /// <summary>The config as Hugging Face config.json text (with its architectures, which transformers reads).</summary>
    public string ToJson() => JsonSerializer.Serialize(this with { Architectures = Architectures ?? [ArchitectureOf(ModelType)] }, JsonOptions);

    /// <summary>Writes config.json.</summary>
    public Task SaveAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return File.WriteAllTextAsync(path, ToJson() + "\n", cancellationToken);
    }

    private static void Positive(string source, string field, int value)
    {
        if (value <= 0) throw Bad(source, field, $"{value} must be a positive integer");
    }

    private static InputException Bad(string source, string field, string message) => InputException.InField($"{source}: {field}", message);
}
