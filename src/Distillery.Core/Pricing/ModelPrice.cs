using System.Text.Json.Serialization;
using Distillery.Core.Chat;

namespace Distillery.Core.Pricing;

/// <summary>A model's price in US dollars per million prompt (input) and completion (output) tokens.</summary>
public sealed record ModelPrice(
    [property: JsonPropertyName("input_per_million")] decimal InputPerMillion,
    [property: JsonPropertyName("output_per_million")] decimal OutputPerMillion)
{
    /// <summary>The price through a Batch API where the provider lists one (<c>"batch":{"input_per_million":N,"output_per_million":N}</c>); null: half this price.</summary>
    [JsonPropertyName("batch")]
    public ModelPrice? Batch { get; init; }

    /// <summary>The price of a request sent through a Batch API: the listed batch price, else half the price.</summary>
    public ModelPrice ForBatch() => Batch ?? new ModelPrice(InputPerMillion / 2, OutputPerMillion / 2);

    /// <summary>Free (local teachers, or no prices given).</summary>
    public static ModelPrice Free { get; } = new(0, 0);

    /// <summary>The cost of a request's usage.</summary>
    public decimal Cost(TokenUsage usage) => usage is null ? 0 : (usage.PromptTokens * InputPerMillion + usage.CompletionTokens * OutputPerMillion) / 1_000_000m;

    /// <summary>The cost of the given token counts.</summary>
    public decimal Cost(long promptTokens, long completionTokens) => (promptTokens * InputPerMillion + completionTokens * OutputPerMillion) / 1_000_000m;
}
