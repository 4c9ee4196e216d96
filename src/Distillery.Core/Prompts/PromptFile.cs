using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;

namespace Distillery.Core.Prompts;

/// <summary>Reads a prompts file: JSONL (<c>{"messages":[...]}</c> or <c>{"prompt":"..."}</c>, optional <c>id</c> and <c>meta</c>) or <c>.txt</c> (one prompt a line).</summary>
/// <remarks>The whole file is checked before anything is returned, so a bad line stops a run before any request is sent.</remarks>
public static class PromptFile
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant", "developer"];

    /// <summary>Reads and checks every line; throws <see cref="InputException"/> naming <c>file:line</c> at the first bad one.</summary>
    public static async Task<PromptSet> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such prompts file; give --prompts a .jsonl or .txt file");
        var lines = await File.ReadAllLinesAsync(path, cancellationToken);
        var isText = string.Equals(System.IO.Path.GetExtension(path), ".txt", StringComparison.OrdinalIgnoreCase);
        var prompts = new List<Prompt>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var number = i + 1;
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line)) continue;
            var prompt = isText
                ? new Prompt($"line-{number}", number, [ChatMessage.User(line.TrimEnd('\r'))], null)
                : ParseJsonLine(path, number, line);
            if (ids.TryGetValue(prompt.Id, out var first))
                throw InputException.AtLine(path, number, $"id \"{prompt.Id}\" is already used on line {first}; ids must be unique");
            ids[prompt.Id] = number;
            prompts.Add(prompt);
        }
        if (prompts.Count == 0) throw InputException.InFile(path, "holds no prompts");
        return new PromptSet(path, await Sha256Hex.OfFileAsync(path, cancellationToken), prompts);
    }

    /// <summary>Parses one JSONL prompt line; throws <see cref="InputException"/> at <c>file:line</c> when it is not a prompt.</summary>
    public static Prompt ParseJsonLine(string file, int line, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw InputException.AtLine(file, line, $"not valid JSON ({ErrorText.OneLine(e.Message)})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw InputException.AtLine(file, line, "expected a JSON object with \"messages\" or \"prompt\"");
            var hasMessages = root.TryGetProperty("messages", out var messagesElement);
            var hasPrompt = root.TryGetProperty("prompt", out var promptElement);
            if (hasMessages == hasPrompt)
                throw InputException.AtLine(file, line, hasMessages ? "has both \"messages\" and \"prompt\"; keep one" : "needs \"messages\" (a chat) or \"prompt\" (a string)");
            IReadOnlyList<ChatMessage> messages = hasPrompt ? [ChatMessage.User(ReadPromptString(file, line, promptElement))] : ReadMessages(file, line, messagesElement);
            var id = $"line-{line}";
            if (root.TryGetProperty("id", out var idElement))
            {
                id = idElement.ValueKind switch
                {
                    JsonValueKind.String when idElement.GetString()!.Length > 0 => idElement.GetString()!,
                    JsonValueKind.Number => idElement.GetRawText(),
                    _ => throw InputException.AtLine(file, line, "\"id\" must be a non-empty string or a number"),
                };
            }
            JsonElement? meta = root.TryGetProperty("meta", out var metaElement) ? metaElement.Clone() : null;
            return new Prompt(id, line, messages, meta);
        }
    }

    private static string ReadPromptString(string file, int line, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(element.GetString()))
            throw InputException.AtLine(file, line, "\"prompt\" must be a non-empty string");
        return element.GetString()!;
    }

    private static List<ChatMessage> ReadMessages(string file, int line, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0)
            throw InputException.AtLine(file, line, "\"messages\" must be a non-empty array of {\"role\",\"content\"} objects");
        var messages = new List<ChatMessage>();
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var where = $"messages[{index}]";
            if (item.ValueKind != JsonValueKind.Object)
                throw InputException.AtLine(file, line, $"{where} must be an object with \"role\" and \"content\"");
            if (!item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || !Roles.Contains(role.GetString()!))
                throw InputException.AtLine(file, line, $"{where}.role must be one of system, user, assistant, developer");
            if (!item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw InputException.AtLine(file, line, $"{where}.content must be a string");
            messages.Add(new ChatMessage(role.GetString()!, content.GetString()!));
            index++;
        }
        if (messages[^1].Role == "assistant")
            throw InputException.AtLine(file, line, "the last message is the assistant's; a prompt ends with the message the teacher answers");
        return messages;
    }
}
