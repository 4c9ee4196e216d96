using System.Text.Json.Serialization;

namespace Distillery.Core.Chat;

/// <summary>Tokens a completion cost, as the server counted them: the prompt read and the completion written.</summary>
public sealed record TokenUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens)
{
    /// <summary>No tokens.</summary>
    public static TokenUsage Zero { get; } = new(0, 0);

    /// <summary>Prompt and completion tokens together.</summary>
    [JsonIgnore] public int TotalTokens => PromptTokens + CompletionTokens;
}
