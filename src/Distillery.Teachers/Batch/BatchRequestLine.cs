using System;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distillery.Teachers.Batch;

/// <summary>One line of a Batch API input file: <c>{"custom_id","method":"POST","url":"/v1/chat/completions","body"}</c>, the body the chat completion the <c>openai:</c> teacher would send.</summary>
public static class BatchRequestLine
{
    /// <summary>The endpoint every line asks.</summary>
    public const string Url = "/v1/chat/completions";

    /// <summary>The JSONL line (no newline) asking <paramref name="model"/> for a completion of the messages with logprobs, under <paramref name="customId"/> (the ledger key's hash).</summary>
    public static string For(string customId, string model, TeacherRequest request)
    {
        ArgumentNullException.ThrowIfNull(customId);
        ArgumentNullException.ThrowIfNull(request);
        var sampling = request.Sampling;
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray([.. request.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
            ["temperature"] = sampling.Temperature,
            ["top_p"] = sampling.TopP,
            ["max_completion_tokens"] = sampling.MaxTokens,
            ["logprobs"] = true,
        };
        if (sampling.TopLogprobs > 0) body["top_logprobs"] = sampling.TopLogprobs;
        if (sampling.Seed is { } seed) body["seed"] = seed;
        if (sampling.Stop.Count > 0) body["stop"] = new JsonArray([.. sampling.Stop.Select(s => (JsonNode)JsonValue.Create(s))]);
        var line = new JsonObject { ["custom_id"] = customId, ["method"] = "POST", ["url"] = Url, ["body"] = body };
        return line.ToJsonString(Options);
    }

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };
}
