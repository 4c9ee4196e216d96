using System.Text.Json;
using Distillery.Core.Chat;

namespace Distillery.Server.Protocol;

/// <summary>A validated <c>POST /v1/completions</c> request (the legacy text API; <c>echo</c> with <c>logprobs</c> scores text).</summary>
public sealed record CompletionRequest(string Model, string Prompt, SamplingParameters Sampling, int N, int? Logprobs, bool Echo, bool Stream)
{
    /// <summary>Parses and validates a request body; throws <see cref="ApiError"/> naming the bad field.</summary>
    public static CompletionRequest Parse(JsonElement root, int contextLength, int maxChoices)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiError.BadField("body", "the request body must be a JSON object");
        var fields = new RequestFields(root);
        var model = fields.RequiredString("model");
        string prompt;
        if (!fields.Present("prompt", out var p)) throw ApiError.BadField("prompt", "'prompt' is required");
        if (p.ValueKind == JsonValueKind.String) prompt = p.GetString()!;
        else if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String) prompt = p[0].GetString()!;
        else throw ApiError.BadField("prompt", "'prompt' must be a string (or an array holding one string)");
        var echo = fields.Boolean("echo") ?? false;
        var logprobs = fields.Integer("logprobs", 0, SamplingParameters.MaxTopLogprobs);
        var sampling = new SamplingParameters
        {
            Temperature = fields.Number("temperature") ?? 1.0,
            TopP = fields.Number("top_p") ?? 1.0,
            MaxTokens = fields.Integer("max_tokens", echo ? 0 : 1, contextLength) ?? 16,
            Seed = fields.Integer("seed", int.MinValue, int.MaxValue),
            Stop = fields.StopStrings(),
            TopLogprobs = logprobs ?? 0,
        };
        // max_tokens 0 with echo only scores the prompt; the sampling limits apply to what would be generated.
        RequestFields.CheckSampling(sampling.MaxTokens == 0 ? sampling with { MaxTokens = 1 } : sampling);
        var stream = fields.Boolean("stream") ?? false;
        if (stream && echo) throw ApiError.BadField("echo", "'echo' cannot be combined with 'stream'");
        return new CompletionRequest(model, prompt, sampling, fields.Integer("n", 1, maxChoices) ?? 1, logprobs, echo, stream);
    }
}
