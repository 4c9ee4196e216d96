using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// How chat messages become prompt text: each message through <see cref="Message"/> (with <c>{role}</c> and
/// <c>{content}</c>), then <see cref="GenerationPrompt"/>. ChatML by default; a model folder overrides it with
/// <c>chat_template.json</c> holding <c>{"message": "...", "generation_prompt": "..."}</c>.
/// </summary>
public sealed record ChatTemplate(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("generation_prompt")] string GenerationPrompt)
{
    /// <summary>The file a model folder overrides the template with.</summary>
    public const string FileName = "chat_template.json";

    /// <summary>ChatML, as used by OpenAI's and Qwen's chat models.</summary>
    public static ChatTemplate ChatML { get; } = new("<|im_start|>{role}\n{content}<|im_end|>\n", "<|im_start|>assistant\n");

    /// <summary>No markers: the messages' contents run together and the model continues them (base models such as llama2.c's).</summary>
    public static ChatTemplate Plain { get; } = new("{content}", "");

    /// <summary>The names a user can choose a built-in template by, for messages.</summary>
    public const string BuiltInNames = "chatml or plain";

    /// <summary>The built-in template with that name (<c>chatml</c>, <c>plain</c>), or null.</summary>
    public static ChatTemplate? BuiltIn(string name) => name switch
    {
        "chatml" => ChatML,
        "plain" => Plain,
        _ => null,
    };

    /// <summary>Renders the messages, ending with the generation prompt where asked.</summary>
    public string Apply(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var sb = new StringBuilder();
        foreach (var m in messages) sb.Append(Message.Replace("{role}", m.Role, StringComparison.Ordinal).Replace("{content}", m.Content, StringComparison.Ordinal));
        if (addGenerationPrompt) sb.Append(GenerationPrompt);
        return sb.ToString();
    }

    /// <summary>The folder's chat_template.json, or ChatML where it has none.</summary>
    public static async Task<ChatTemplate> LoadAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return ChatML;
        ChatTemplate? template;
        try
        {
            template = JsonSerializer.Deserialize<ChatTemplate>(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not a chat template ({ErrorText.FirstLine(e)}); write {{\"message\": \"...{{role}}...{{content}}...\", \"generation_prompt\": \"...\"}}");
        }
        if (template is null || string.IsNullOrEmpty(template.Message) || !template.Message.Contains("{content}", StringComparison.Ordinal))
            throw InputException.InFile(path, "field 'message' must be a string containing {content}");
        return template with { GenerationPrompt = template.GenerationPrompt ?? "" };
    }

    /// <summary>Writes this template as chat_template.json into a folder.</summary>
    public Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return File.WriteAllTextAsync(Path.Combine(directory, FileName), JsonSerializer.Serialize(this) + "\n", cancellationToken);
    }
}
