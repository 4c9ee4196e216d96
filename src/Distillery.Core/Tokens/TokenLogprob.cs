using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Distillery.Core.Tokens;

/// <summary>A generated token with its log-probability and the top alternatives, in the shape the OpenAI API returns.</summary>
public sealed record TokenLogprob(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("bytes")] IReadOnlyList<int> Bytes,
    [property: JsonPropertyName("logprob")] double Logprob,
    [property: JsonPropertyName("top_logprobs")] IReadOnlyList<TopLogprob> TopLogprobs)
{
    /// <summary>The key under which a Microsoft.Extensions.AI chat response's additional properties carry its tokens (a list of these).</summary>
    public const string ChatPropertyKey = "logprobs";

    /// <summary>The key under which chat options' additional properties ask for that many alternatives per token.</summary>
    public const string TopLogprobsOptionKey = "top_logprobs";

    /// <summary>The token id in the producing model's vocabulary, where known (local teachers); null for API teachers.</summary>
    [JsonPropertyName("id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Id { get; init; }

    /// <summary>
    /// Tokens drawn with replacement from the producing model's distribution at this position (temperature 1), each with its
    /// logprob, in draw order (repeats kept): the data of random-sampling KD. Only local teachers supply them; null otherwise.
    /// </summary>
    [JsonPropertyName("sampled_logprobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<TopLogprob>? SampledLogprobs { get; init; }
}

/// <summary>One alternative token at a position, with its log-probability.</summary>
public sealed record TopLogprob(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("bytes")] IReadOnlyList<int> Bytes,
    [property: JsonPropertyName("logprob")] double Logprob)
{
    /// <summary>The token id in the producing model's vocabulary, where known; null for API teachers.</summary>
    [JsonPropertyName("id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Id { get; init; }
}
