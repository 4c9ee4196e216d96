using System.Text.Json.Serialization;

namespace Distillery.Core.Chat;

/// <summary>One message of a chat, in the OpenAI shape: a role ("system", "user", "assistant") and its text.</summary>
public sealed record ChatMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content)
{
    /// <summary>A system message.</summary>
    public static ChatMessage System(string content) => new("system", content);

    /// <summary>A user message.</summary>
    public static ChatMessage User(string content) => new("user", content);

    /// <summary>An assistant message.</summary>
    public static ChatMessage Assistant(string content) => new("assistant", content);
}
