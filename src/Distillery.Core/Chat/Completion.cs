using System.Collections.Generic;
using System.Text.Json.Serialization;
using Distillery.Core.Tokens;

namespace Distillery.Core.Chat;

/// <summary>One completion from a teacher: its text, each generated token with its logprob and top-k alternatives, why it stopped, the model as the server reported it, and the usage.</summary>
public sealed record Completion(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("tokens")] IReadOnlyList<TokenLogprob> Tokens,
    [property: JsonPropertyName("finish_reason")] string FinishReason,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("usage")] TokenUsage Usage)
{
    /// <summary>The name of the pool endpoint that answered (<c>generate --endpoints</c>); null for a teacher without a pool.</summary>
    [JsonPropertyName("answered_by")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AnsweredBy { get; init; }
}
