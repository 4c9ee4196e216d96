using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;

namespace Distillery.Teachers.OpenAi;

/// <summary>
/// Scores text with a model behind an OpenAI-compatible <c>/v1/completions</c> (vLLM, Together, <c>distill serve</c>): the
/// request's one message is the text, sent with <c>echo: true</c>, <c>logprobs: k</c> (the request's top logprobs) and
/// <c>max_tokens: 0</c>; the completion is the echoed text, one token per echoed prompt token with its bytes of the text
/// (from <c>text_offset</c>) and its logprob (0 for the first, which has none). Its endpoint is the <c>/completions</c> URL,
/// so ledger entries of scoring differ from chat answers of the same model.
/// </summary>
public sealed class CompletionScoringTeacher : ITeacher, IDisposable
{
    private readonly HttpClient http;
    private readonly Uri url;

    /// <summary>Creates the teacher for a model at a base URL (for example http://127.0.0.1:8080/v1), with one attempt's timeout.</summary>
    public CompletionScoringTeacher(string model, Uri baseUrl, string apiKey, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        url = new Uri(OpenAiTeacher.EndpointText(baseUrl) + "/completions");
        http = new HttpClient { Timeout = timeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        Identity = new TeacherIdentity("openai", model, url.ToString());
    }

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Messages.Count != 1) throw new ArgumentException("a scoring request holds one message: the text to score", nameof(request));
        var text = request.Messages[0].Content;
        var body = new JsonObject
        {
            ["model"] = Identity.Model,
            ["prompt"] = text,
            ["echo"] = true,
            ["logprobs"] = request.Sampling.TopLogprobs,
            ["max_tokens"] = 0,
        };
        string answer;
        try
        {
            using var response = await http.PostAsJsonAsync(url, body, cancellationToken);
            answer = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw TeacherException.FromStatus((int)response.StatusCode, OpenAiTeacher.ServerMessage(answer, response.ReasonPhrase ?? ""),
                    OpenAiTeacher.RetryAfter(name => response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null));
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"no answer within {http.Timeout.TotalSeconds:F0} s", null, null, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"connection failed: {ErrorText.OneLine(e.Message)}", null, null, e);
        }
        try
        {
            return Parse(answer, text);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or NullReferenceException)
        {
            throw new TeacherException(TeacherFailureKind.Malformed, $"the response is not a text completion with prompt logprobs: {ErrorText.OneLine(e.Message)}", 200, null, e);
        }
    }

    /// <summary>The echoed tokens of a legacy completions response (tokens, token_logprobs, top_logprobs, text_offset) over the text sent.</summary>
    private Completion Parse(string answer, string text)
    {
        var root = JsonNode.Parse(answer)!.AsObject();
        var choice = root["choices"]![0]!.AsObject();
        if (choice["logprobs"] is not JsonObject logprobs || logprobs["tokens"] is not JsonArray tokens || logprobs["token_logprobs"] is not JsonArray values || tokens.Count == 0)
            throw new TeacherException(TeacherFailureKind.Malformed, "the response carries no prompt logprobs (echo with logprobs); the endpoint cannot score text", 200);
        // The offsets say which bytes of the text each token covers: without them its tokens cannot be aligned with another tokenisation.
        if (logprobs["text_offset"] is not JsonArray offsets)
            throw new TeacherException(TeacherFailureKind.Malformed, "the prompt logprobs carry no text_offset, so the teacher's tokens cannot be aligned with the text", 200);
        var echoed = choice["text"]?.GetValue<string>() ?? "";
        if (!echoed.StartsWith(text, StringComparison.Ordinal))
            throw new TeacherException(TeacherFailureKind.Malformed, "the echoed text differs from the text sent", 200);
        if (values.Count != tokens.Count || offsets.Count != tokens.Count)
            throw new TeacherException(TeacherFailureKind.Malformed, $"{tokens.Count} tokens but {values.Count} logprobs and {offsets.Count} offsets", 200);
        var tops = logprobs["top_logprobs"] as JsonArray;
        var starts = offsets.Select(o => o!.GetValue<int>()).ToList();
        var count = tokens.Count;
        var result = new List<TokenLogprob>(count);
        for (var i = 0; i < count; i++)
        {
            var start = starts[i];
            var end = i + 1 < count ? starts[i + 1] : text.Length;
            if (start < 0 || end < start || end > text.Length)
                throw new TeacherException(TeacherFailureKind.Malformed, $"text_offset {start} of token {i} does not lie in the {text.Length}-character text", 200);
            var bytes = Encoding.UTF8.GetBytes(text[start..end]).Select(b => (int)b).ToList();
            var alternatives = tops?[i] is JsonObject top
                ? top.Select(kv => new TopLogprob(kv.Key, [.. Encoding.UTF8.GetBytes(kv.Key).Select(b => (int)b)], kv.Value!.GetValue<double>())).ToList()
                : [];
            result.Add(new TokenLogprob(tokens[i]!.GetValue<string>(), bytes, values[i]?.GetValue<double>() ?? 0, alternatives));
        }
        var model = root["model"]?.GetValue<string>() is { Length: > 0 } reported ? reported : Identity.Model;
        var promptTokens = root["usage"]?["prompt_tokens"]?.GetValue<int>() ?? count;
        return new Completion(text, result, "length", model, new TokenUsage(promptTokens, 0));
    }

    /// <inheritdoc />
    public void Dispose() => http.Dispose();
}
