using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using Distillery.Core.Chat;

namespace Distillery.Server.Protocol;

/// <summary>A validated <c>POST /v1/chat/completions</c> request.</summary>
public sealed record ChatCompletionRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    SamplingParameters Sampling,
    int N,
    bool Logprobs,
    bool Stream,
    bool IncludeUsageInStream)
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>Parses and validates a request body; throws <see cref="ApiError"/> naming the bad field.</summary>
    public static ChatCompletionRequest Parse(JsonElement root, int contextLength, int maxChoices)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiError.BadField("body", "the request body must be a JSON object");
        var fields = new RequestFields(root);
        var model = fields.RequiredString("model");
        var messages = ParseMessages(fields);
        var maxTokens = fields.Integer("max_completion_tokens", 1, contextLength) ?? fields.Integer("max_tokens", 1, contextLength) ?? 256;
        var logprobs = fields.Boolean("logprobs") ?? false;
        var topLogprobs = fields.Integer("top_logprobs", int.MinValue, int.MaxValue) ?? 0;
        if (topLogprobs > 0 && !logprobs) throw ApiError.BadField("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
        var stream = fields.Boolean("stream") ?? false;
        var includeUsage = fields.Present("stream_options", out var options) && options.ValueKind == JsonValueKind.Object
            && options.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        var sampling = new SamplingParameters
        {
            Temperature = fields.Number("temperature") ?? 1.0,
            TopP = fields.Number("top_p") ?? 1.0,
            MaxTokens = maxTokens,
            Seed = fields.Integer("seed", int.MinValue, int.MaxValue),
            Stop = fields.StopStrings(),
            TopLogprobs = topLogprobs,
        };
        RequestFields.CheckSampling(sampling);
        return new ChatCompletionRequest(model, messages, sampling, fields.Integer("n", 1, maxChoices) ?? 1, logprobs, stream, includeUsage);
    }

    private static List<ChatMessage> ParseMessages(RequestFields fields)
    {
        if (!fields.Present("messages", out var array)) throw ApiError.BadField("messages", "'messages' is required");
        if (array.ValueKind != JsonValueKind.Array) throw ApiError.BadField("messages", "'messages' must be an array");
        var messages = new List<ChatMessage>();
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var where = $"messages[{index++}]";
            if (item.ValueKind != JsonValueKind.Object) throw ApiError.BadField(where, $"'{where}' must be an object");
            if (!item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw ApiError.BadField($"{where}.role", $"'{where}.role' must be a string");
            if (!Roles.Contains(role.GetString()!))
                throw ApiError.BadField($"{where}.role", $"'{where}.role' must be one of system, developer, user, assistant, tool");
            messages.Add(new ChatMessage(role.GetString()!, ParseContent(item, where)));
        }
        if (messages.Count == 0) throw ApiError.BadField("messages", "'messages' must hold at least one message");
        return messages;
    }

    private static string ParseContent(JsonElement message, string where)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            throw ApiError.BadField($"{where}.content", $"'{where}.content' is required");
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw ApiError.BadField($"{where}.content", $"'{where}.content' must be a string or an array of text parts");
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
                throw ApiError.BadField($"{where}.content", $"'{where}.content' parts must be {{\"type\": \"text\", \"text\": \"...\"}}");
            text.Append(partText.GetString());
        }
        return text.ToString();
    }
}
