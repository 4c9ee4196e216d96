using System;
using System.ClientModel.Primitives;
using System.Text.Json;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Teachers.OpenAi;
using OpenAI.Chat;

namespace Distillery.Teachers.Batch;

/// <summary>What one line of a batch's output or error file says about its request: answered, failed for good, or to be sent again in the next batch.</summary>
/// <param name="CustomId">The request's custom id (its ledger hash).</param>
/// <param name="Answer">The completion, for a request answered.</param>
/// <param name="Error">Why the request was not answered, otherwise.</param>
/// <param name="Retry">Whether sending it again can help (expired, cancelled, a server error, a malformed answer).</param>
public sealed record BatchResult(string CustomId, Completion? Answer, string? Error, bool Retry)
{
    /// <summary>Reads one output or error line (<c>{"custom_id","response":{"status_code","body"},"error"}</c>), checking an answer against its request's sampling; null when the line is not valid JSON or names no request.</summary>
    public static BatchResult? Parse(string line, Func<string, SamplingParameters> samplingOf, string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(samplingOf);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("custom_id", out var id) || id.ValueKind != JsonValueKind.String) return null;
            var customId = id.GetString()!;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                // batch_expired and batch_cancelled: the request never ran; send it in the next batch.
                var code = error.TryGetProperty("code", out var c) ? c.GetString() : null;
                var message = error.TryGetProperty("message", out var m) ? m.GetString() : code;
                return new BatchResult(customId, null, $"{code}: {ErrorText.OneLine(message ?? "")}", Retry: true);
            }
            if (!root.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object)
                return new BatchResult(customId, null, "the line holds neither a response nor an error", Retry: true);
            var status = response.TryGetProperty("status_code", out var s) && s.TryGetInt32(out var code200) ? code200 : 0;
            var body = response.TryGetProperty("body", out var b) ? b.GetRawText() : "";
            if (status != 200)
            {
                var failure = TeacherException.FromStatus(status, OpenAiTeacher.ServerMessage(body, $"status {status}"));
                return new BatchResult(customId, null, failure.Message, Retry: failure.Kind != TeacherFailureKind.Rejected);
            }
            return Answered(customId, body, samplingOf(customId), requestedModel);
        }
    }

    /// <summary>A 200 response's body read through the SDK as the <c>openai:</c> teacher reads one; a body that is no chat completion with the logprobs asked for is sent again.</summary>
    private static BatchResult Answered(string customId, string body, SamplingParameters sampling, string requestedModel)
    {
        try
        {
            var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(body), ModelReaderWriterOptions.Json)
                             ?? throw new JsonException("an empty body");
            return new BatchResult(customId, OpenAiTeacher.ToCompletion(completion, sampling, requestedModel), null, Retry: false);
        }
        catch (TeacherException e)
        {
            return new BatchResult(customId, null, e.Message, Retry: true);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException or InvalidCastException)
        {
            return new BatchResult(customId, null, $"the answer is not a chat completion: {ErrorText.OneLine(e.Message)}", Retry: true);
        }
    }
}
