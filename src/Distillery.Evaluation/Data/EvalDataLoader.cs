using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;

namespace Distillery.Evaluation.Data;

/// <summary>Reads held-out data: a dataset folder, JSONL (<c>messages</c>, <c>question</c>/<c>answer</c>, or <c>text</c>), or plain text.</summary>
public static class EvalDataLoader
{
    /// <summary>The separator between documents in a plain-text file, where it has one.</summary>
    public const string DocumentSeparator = "<|endoftext|>";

    /// <summary>Loads up to <paramref name="limit"/> examples; bad lines are one-line errors naming file:line.</summary>
    public static async Task<IReadOnlyList<EvalExample>> LoadAsync(string path, int limit = int.MaxValue, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(path))
        {
            var rows = await DatasetReader.ReadAllRowsAsync(path, cancellationToken);
            return rows.Where(r => r.Messages.Count >= 2 && r.Messages[^1].Role == "assistant")
                       .Select(r => (EvalExample)new ChatExample(r.Messages.Take(r.Messages.Count - 1).ToList(), r.Messages[^1].Content))
                       .Take(limit).ToList();
        }
        if (!File.Exists(path)) throw InputException.InField("--data", $"'{path}' is neither a file nor a dataset folder");
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            var examples = new List<EvalExample>();
            var line = 0;
            foreach (var text in await File.ReadAllLinesAsync(path, cancellationToken))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                examples.Add(ParseLine(path, line, text));
                if (examples.Count >= limit) break;
            }
            if (examples.Count == 0) throw InputException.InFile(path, "holds no examples");
            return examples;
        }
        var content = await File.ReadAllTextAsync(path, cancellationToken);
        var documents = content.Split(DocumentSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (documents.Length == 0) throw InputException.InFile(path, "holds no text");
        return documents.Take(limit).Select(d => (EvalExample)new TextExample(d)).ToList();
    }

    private static EvalExample ParseLine(string path, int line, string text)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(text);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw InputException.AtLine(path, line, $"not valid JSON ({ErrorText.FirstLine(e)})");
        }
        if (root.ValueKind != JsonValueKind.Object) throw InputException.AtLine(path, line, "expected a JSON object");
        if (root.TryGetProperty("messages", out var messages))
        {
            var parsed = messages.ValueKind == JsonValueKind.Array
                ? messages.EnumerateArray().Select(m => new ChatMessage(
                    m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : throw InputException.AtLine(path, line, "a message lacks a string 'role'"),
                    m.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : throw InputException.AtLine(path, line, "a message lacks a string 'content'"))).ToList()
                : throw InputException.AtLine(path, line, "'messages' must be an array");
            if (parsed.Count < 2 || parsed[^1].Role != "assistant")
                throw InputException.AtLine(path, line, "'messages' must end with the assistant's reference answer");
            return new ChatExample(parsed.Take(parsed.Count - 1).ToList(), parsed[^1].Content);
        }
        if (root.TryGetProperty("question", out var q) && root.TryGetProperty("answer", out var a))
        {
            if (q.ValueKind != JsonValueKind.String || a.ValueKind != JsonValueKind.String)
                throw InputException.AtLine(path, line, "'question' and 'answer' must be strings");
            return new QuestionExample(q.GetString()!, a.GetString()!);
        }
        if (root.TryGetProperty("text", out var t))
            return t.ValueKind == JsonValueKind.String ? new TextExample(t.GetString()!) : throw InputException.AtLine(path, line, "'text' must be a string");
        throw InputException.AtLine(path, line, "expected 'messages', 'question' and 'answer', or 'text'");
    }
}
