using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Distillery.Models.Lora;

/// <summary>
/// An adapter folder's <c>adapter_config.json</c>: PEFT's fields (so PEFT and other tools read it) and the base model the
/// adapters belong to, with the hash of its weights so a changed base is refused.
/// </summary>
public sealed record LoraAdapterConfig
{
    /// <summary>PEFT's adapter type.</summary>
    [JsonPropertyName("peft_type")] public string PeftType { get; init; } = "LORA";

    /// <summary>The rank r.</summary>
    [JsonPropertyName("r")] public int Rank { get; init; }

    /// <summary>alpha (the update is scaled by alpha / r).</summary>
    [JsonPropertyName("lora_alpha")] public double Alpha { get; init; }

    /// <summary>The adapted modules' Hugging Face names (q_proj, …).</summary>
    [JsonPropertyName("target_modules")] public IReadOnlyList<string> TargetModules { get; init; } = [];

    /// <summary>The base model as a spec with an absolute path (PEFT's field).</summary>
    [JsonPropertyName("base_model_name_or_path")] public string BaseModel { get; init; } = "";

    /// <summary>SHA-256 of the base model's weights as loaded (<see cref="Checkpoints.WeightsHash"/>).</summary>
    [JsonPropertyName("base_model_sha256")] public string BaseModelSha256 { get; init; } = "";

    /// <summary>Distillery's short target names (q, k, …), as --lora-targets takes them.</summary>
    [JsonPropertyName("distillery_targets")] public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>Adapter parameters in the file: the count that was trained.</summary>
    [JsonPropertyName("trainable_parameters")] public long TrainableParameters { get; init; }

    /// <summary>The settings these fields describe.</summary>
    [JsonIgnore] public LoraSettings Settings => new() { Rank = Rank, Alpha = Alpha, Targets = Targets };
}
