using System;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;
using Distillery.Teachers.Resilience;
using OpenAI;
using OpenAI.Chat;
using CoreChat = Distillery.Core.Chat;

namespace Distillery.Teachers.OpenAi;

/// <summary>The <c>openai:MODEL</c> teacher: chat completions with logprobs through the official OpenAI .NET SDK, against any OpenAI-compatible base URL.</summary>
/// <remarks>The SDK's own retries are off: failures are classified into <see cref="TeacherException"/> and <see cref="RetryingTeacher"/> decides. The key is held by the SDK only.</remarks>
public sealed class OpenAiTeacher : ITeacher
{
    /// <summary>The most top logprobs OpenAI returns per token.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Samples of its distribution an OpenAI-compatible API returns per token: none.</summary>
    public const int MaxSampledLogprobs = 0;

    private readonly ChatClient client;
    private readonly TimeSpan timeout;

    /// <summary>Creates the teacher for a model at a base URL (for example https://api.openai.com/v1), with one attempt's timeout.</summary>
    public OpenAiTeacher(string model, Uri baseUrl, string apiKey, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            NetworkTimeout = timeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        client = new ChatClient(model, new ApiKeyCredential(apiKey), options);
        this.timeout = timeout;
        Identity = new TeacherIdentity("openai", model, EndpointText(baseUrl));
    }

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <summary>The endpoint as recorded: scheme, host, port and path, never credentials or a query.</summary>
    public static string EndpointText(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return baseUrl.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/');
    }

    /// <inheritdoc />
    public async Task<CoreChat.Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sampling = request.Sampling;
        if (sampling.FindProblem(MaxTopLogprobs, MaxSampledLogprobs) is { } problem)
            throw new TeacherException(TeacherFailureKind.Rejected, $"{problem.Field} {problem.Message}, what OpenAI allows");
        var options = new ChatCompletionOptions
        {
            Temperature = (float)sampling.Temperature,
            TopP = (float)sampling.TopP,
            MaxOutputTokenCount = sampling.MaxTokens,
            IncludeLogProbabilities = true,
        };
        if (sampling.TopLogprobs > 0) options.TopLogProbabilityCount = sampling.TopLogprobs;
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; OpenAI-compatible servers honour it.
        if (sampling.Seed is { } seed) options.Seed = seed;
#pragma warning restore OPENAI001
        foreach (var stop in sampling.Stop) options.StopSequences.Add(stop);

        ChatCompletion completion;
        try
        {
            completion = (await client.CompleteChatAsync(request.Messages.Select(ToSdk), options, cancellationToken)).Value;
        }
        catch (ClientResultException e)
        {
            throw Classify(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"no answer within {timeout.TotalSeconds:F0} s", null, null, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"connection failed: {ErrorText.OneLine(e.Message)}", null, null, e);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or ArgumentException or InvalidCastException)
        {
            throw new TeacherException(TeacherFailureKind.Malformed, $"the server's response is not a chat completion: {ErrorText.OneLine(e.Message)}", 200, null, e);
        }
        return ToCompletion(completion, sampling, Identity.Model);
    }

    /// <summary>The SDK's chat completion as Distillery's; one without the logprobs asked for is <see cref="TeacherFailureKind.Malformed"/>. Also reads the Batch API's answers.</summary>
    internal static CoreChat.Completion ToCompletion(ChatCompletion completion, CoreChat.SamplingParameters sampling, string requestedModel)
    {
        var text = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));
        var tokens = Tokens(completion.ContentTokenLogProbabilities);
        if (text.Length > 0 && tokens.Count == 0)
            throw new TeacherException(TeacherFailureKind.Malformed, "the server returned no logprobs though they were asked for; does it support \"logprobs\"?", 200);
        if (sampling.TopLogprobs > 0 && tokens.Any(t => t.TopLogprobs.Count == 0))
            throw new TeacherException(TeacherFailureKind.Malformed, $"the server returned tokens without the {sampling.TopLogprobs} top logprobs asked for", 200);
        var usage = completion.Usage is { } u ? new CoreChat.TokenUsage(u.InputTokenCount, u.OutputTokenCount) : new CoreChat.TokenUsage(0, tokens.Count);
        var model = string.IsNullOrEmpty(completion.Model) ? requestedModel : completion.Model;
        return new CoreChat.Completion(text, tokens, FinishReason(completion.FinishReason), model, usage);
    }

    /// <summary>The SDK's token logprobs as Distillery's, bytes taken from the server where it sent them.</summary>
    internal static List<TokenLogprob> Tokens(IEnumerable<ChatTokenLogProbabilityDetails> tokens) =>
        [.. tokens.Select(t => new TokenLogprob(t.Token, Bytes(t.Token, t.Utf8Bytes), t.LogProbability,
            [.. t.TopLogProbabilities.Select(a => new TopLogprob(a.Token, Bytes(a.Token, a.Utf8Bytes), a.LogProbability))]))];

    private static List<int> Bytes(string token, ReadOnlyMemory<byte>? utf8) =>
        utf8 is { } b ? [.. b.ToArray().Select(x => (int)x)] : [.. Encoding.UTF8.GetBytes(token).Select(x => (int)x)];

    private static string FinishReason(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.FunctionCall => "function_call",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private static ChatMessage ToSdk(CoreChat.ChatMessage message) => message.Role switch
    {
        "system" => new SystemChatMessage(message.Content),
#pragma warning disable OPENAI001 // the developer role is marked experimental in the SDK
        "developer" => new DeveloperChatMessage(message.Content),
#pragma warning restore OPENAI001
        "assistant" => new AssistantChatMessage(message.Content),
        _ => new UserChatMessage(message.Content),
    };

    /// <summary>An SDK failure as a teacher failure: 429 rate limited (with its wait), 408 and 5xx transient, other statuses rejected.</summary>
    internal static TeacherException Classify(ClientResultException e)
    {
        var response = e.GetRawResponse();
        var status = e.Status;
        if (status == 0 || response is null)
            return new TeacherException(TeacherFailureKind.Transient, $"connection failed: {ErrorText.OneLine(e.InnerException?.Message ?? e.Message)}", null, null, e);
        return TeacherException.FromStatus(status, ServerMessage(response), RetryAfter(name => response.Headers.TryGetValue(name, out var v) ? v : null), e);
    }

    private static string ServerMessage(PipelineResponse response)
    {
        try
        {
            return ServerMessage(response.Content.ToString(), response.ReasonPhrase);
        }
        catch (InvalidOperationException)
        {
            return response.ReasonPhrase;
        }
    }

    /// <summary>An error body's message in one line: OpenAI's <c>{"error":{"message":...}}</c>, else the body itself (cut at 300 characters), else <paramref name="reason"/>.</summary>
    internal static string ServerMessage(string body, string reason)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return ErrorText.OneLine(m.GetString()!);
                if (error.ValueKind == JsonValueKind.String) return ErrorText.OneLine(error.GetString()!);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the body itself is the message.
        }
        var text = ErrorText.OneLine(body);
        return text.Length == 0 ? reason : text.Length > 300 ? text[..300] + "…" : text;
    }

    /// <summary>The wait a response's <c>retry-after-ms</c> or <c>Retry-After</c> header (looked up by <paramref name="header"/>) asks for, if any.</summary>
    internal static TimeSpan? RetryAfter(Func<string, string?> header)
    {
        if (header("retry-after-ms") is { } ms && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis))
            return TimeSpan.FromMilliseconds(Math.Max(0, millis));
        if (header("Retry-After") is not { } value) return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) return TimeSpan.FromSeconds(Math.Max(0, seconds));
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when))
        {
            var wait = when - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
