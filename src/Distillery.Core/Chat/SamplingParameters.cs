using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Distillery.Core.Chat;

/// <summary>How a completion is sampled: the OpenAI chat parameters Distillery uses, recorded with every row.</summary>
public sealed record SamplingParameters
{
    /// <summary>Softmax temperature; 0 means greedy.</summary>
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling mass; 1 keeps every token.</summary>
    [JsonPropertyName("top_p")] public double TopP { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens before sampling; 0 keeps all.</summary>
    [JsonPropertyName("top_k")] public int TopK { get; init; }

    /// <summary>The most tokens to generate.</summary>
    [JsonPropertyName("max_tokens")] public int MaxTokens { get; init; } = 256;

    /// <summary>Seed for reproducible sampling, where the backend honours it.</summary>
    [JsonPropertyName("seed")] public int? Seed { get; init; }

    /// <summary>Strings that end the completion when generated (not included in it).</summary>
    [JsonPropertyName("stop")] public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>How many alternatives to return with each generated token's logprob; 0 returns none.</summary>
    [JsonPropertyName("top_logprobs")] public int TopLogprobs { get; init; }
}
