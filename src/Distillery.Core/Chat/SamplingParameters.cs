using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json.Serialization;
using Distillery.Core.Errors;

namespace Distillery.Core.Chat;

/// <summary>How a completion is sampled: the OpenAI chat parameters Distillery uses, recorded with every row.</summary>
/// <remarks>The one set of limits on them is here (<see cref="FindProblem"/>); every command, the server, decoding and the teachers check with it.</remarks>
public sealed record SamplingParameters
{
    /// <summary>The highest temperature allowed (OpenAI's limit).</summary>
    public const double MaxTemperature = 2.0;

    /// <summary>The most tokens one completion may ask for.</summary>
    public const int MaxMaxTokens = 1_000_000;

    /// <summary>The most alternatives per token that may be asked for (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>The most teacher samples per token that may be asked for (<see cref="SampledLogprobs"/>).</summary>
    public const int MaxSampledLogprobs = 64;

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

    /// <summary>
    /// How many tokens to draw per generated position, with replacement, from the model's distribution at temperature 1,
    /// returned with their logprobs for random-sampling KD; 0 draws none. Only a local model can: no API returns them.
    /// </summary>
    /// <remarks>Left out of the JSON when 0, so requests without it hash as they did before it existed.</remarks>
    [JsonPropertyName("sampled_logprobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int SampledLogprobs { get; init; }

    /// <summary>
    /// The parameters of a prompt's <paramref name="sample"/>-th completion: with a seed, sample 0 keeps it and every later sample
    /// draws from its own seed mixed from (seed, sample), so N samples are N draws rather than one draw N times.
    /// </summary>
    public SamplingParameters ForSample(int sample)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sample);
        return sample == 0 || Seed is not { } seed ? this : this with { Seed = Hashing.SeedMix.Of(seed, sample, 0x5A4D) };
    }

    /// <summary>
    /// The first parameter outside its limits, or null when all are within them; <paramref name="maxTopLogprobs"/> and
    /// <paramref name="maxSampledLogprobs"/> lower the limits for a teacher that allows fewer.
    /// </summary>
    public SamplingProblem? FindProblem(int maxTopLogprobs = MaxTopLogprobs, int maxSampledLogprobs = MaxSampledLogprobs)
    {
        var sampledLimit = System.Math.Min(maxSampledLogprobs, MaxSampledLogprobs);
        var topLogprobsLimit = System.Math.Min(maxTopLogprobs, MaxTopLogprobs);
        if (!(Temperature is >= 0 and <= MaxTemperature)) return new("temperature", $"must be between 0 (greedy) and {Show(MaxTemperature)}, got {Show(Temperature)}");
        if (!(TopP is > 0 and <= 1)) return new("top_p", $"must be above 0 and at most 1, got {Show(TopP)}");
        if (TopK < 0) return new("top_k", $"must be 0 (all tokens) or positive, got {TopK}");
        if (MaxTokens is < 1 or > MaxMaxTokens) return new("max_tokens", $"must be between 1 and {MaxMaxTokens:N0}, got {MaxTokens}");
        if (TopLogprobs < 0 || TopLogprobs > topLogprobsLimit) return new("top_logprobs", $"must be between 0 and {topLogprobsLimit}, got {TopLogprobs}");
        if (SampledLogprobs < 0 || SampledLogprobs > sampledLimit)
            return new("sampled_logprobs", sampledLimit == 0
                ? $"needs a local teacher (no API returns samples of its distribution), got {SampledLogprobs}"
                : $"must be between 0 and {sampledLimit}, got {SampledLogprobs}");
        return null;
    }

    /// <summary>Throws an <see cref="InputException"/> naming the first parameter outside its limits, as a JSON field or as a command-line option.</summary>
    public void Validate(SamplingFieldNaming naming = SamplingFieldNaming.Json, int maxTopLogprobs = MaxTopLogprobs, int maxSampledLogprobs = MaxSampledLogprobs)
    {
        if (FindProblem(maxTopLogprobs, maxSampledLogprobs) is { } problem) throw InputException.InField(problem.Name(naming), problem.Message);
    }

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
