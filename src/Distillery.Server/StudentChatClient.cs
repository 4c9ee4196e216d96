using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Tokens;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.Server.Protocol;
using Microsoft.Extensions.AI;
using CoreChat = Distillery.Core.Chat;

namespace Distillery.Server;

/// <summary>
/// A local model (any spec <see cref="ModelLoader"/> loads) as a Microsoft.Extensions.AI <see cref="IChatClient"/>, in-process, answering
/// exactly as <c>distill serve</c> does: both run <see cref="ChatGeneration"/>. Each response's token logprobs are in
/// <see cref="ChatResponse.AdditionalProperties"/> under <see cref="TokenLogprob.ChatPropertyKey"/>; its <c>RawRepresentation</c> is the <see cref="GenerationOutcome"/>.
/// </summary>
public sealed class StudentChatClient : IChatClient
{
    /// <summary>The provider name the client reports in its <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "distillery";

    private readonly ChatGeneration generation;
    private readonly TimeProvider time;
    private readonly IDisposable? owned;

    /// <summary>Serves a model already loaded; at most <paramref name="maxConcurrentGenerations"/> generations run at once.</summary>
    public StudentChatClient(ILanguageModelService model, int maxConcurrentGenerations = 1, TimeProvider? time = null)
        : this(model, maxConcurrentGenerations, time, null)
    {
    }

    private StudentChatClient(ILanguageModelService model, int maxConcurrentGenerations, TimeProvider? time, IDisposable? owned)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrentGenerations, 1);
        generation = new ChatGeneration(model, new SemaphoreSlim(maxConcurrentGenerations), Stats);
        this.time = time ?? TimeProvider.System;
        this.owned = owned;
        Metadata = new ChatClientMetadata(ProviderName, null, model.ModelId);
    }

    /// <summary>Counts of what the client has generated.</summary>
    public ServerStats Stats { get; } = new();

    /// <summary>The provider name and the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>Loads a model spec (<c>checkpoint:DIR</c>, <c>gguf:PATH</c>, <c>llama2c:PATH</c>...) and serves it under <paramref name="modelId"/> (the spec by default); disposing the client frees the model.</summary>
    public static async Task<StudentChatClient> LoadAsync(string spec, string? modelId = null, string? tokenizer = null, ChatTemplateChoice? chatTemplate = null,
        CancellationToken cancellationToken = default)
    {
        var bundle = await ModelLoader.LoadAsync(spec, tokenizer, cancellationToken);
        try
        {
            (chatTemplate ?? ChatTemplateChoice.None).ApplyTo(bundle);
            return new StudentChatClient(new ModelBundleService(bundle, modelId ?? spec), 1, null, bundle);
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, sampling) = Prepare(messages, options);
        var outcome = await generation.GenerateAsync(prompt, sampling, 0, null, cancellationToken);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, outcome.Text))
        {
            ResponseId = NewId(),
            ModelId = generation.Model.ModelId,
            CreatedAt = time.GetUtcNow(),
            FinishReason = FinishReason(outcome.FinishReason),
            Usage = Usage(outcome.PromptTokens, outcome.CompletionTokens),
            RawRepresentation = outcome,
            AdditionalProperties = new() { [TokenLogprob.ChatPropertyKey] = outcome.Tokens },
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, sampling) = Prepare(messages, options);
        var id = NewId();
        var created = time.GetUtcNow();
        var stream = generation.Stream(prompt, sampling, 0, cancellationToken);
        await foreach (var token in stream.Tokens)
            yield return Update(id, created, [new TextContent(token.Token)], token, new() { [TokenLogprob.ChatPropertyKey] = (IReadOnlyList<TokenLogprob>)[token] });
        var outcome = await stream.Outcome;
        var last = Update(id, created, [new UsageContent(Usage(outcome.PromptTokens, outcome.CompletionTokens))], outcome, null);
        last.FinishReason = FinishReason(outcome.FinishReason);
        yield return last;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return Metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose() => owned?.Dispose();

    /// <summary>The sampling parameters <see cref="ChatOptions"/> ask for, with the server's defaults for what they leave out (temperature 1, top-p 1, 256 tokens).</summary>
    public static CoreChat.SamplingParameters ToSampling(ChatOptions? options)
    {
        var sampling = new CoreChat.SamplingParameters();
        if (options is null) return sampling;
        sampling = sampling with
        {
            // Through decimal, 0.8f becomes 0.8 (what a JSON request carries), not 0.800000011920929.
            Temperature = options.Temperature is { } t ? (double)(decimal)t : sampling.Temperature,
            TopP = options.TopP is { } p ? (double)(decimal)p : sampling.TopP,
            TopK = options.TopK ?? 0,
            MaxTokens = options.MaxOutputTokens ?? sampling.MaxTokens,
            Seed = options.Seed is { } seed ? checked((int)seed) : null,
            Stop = options.StopSequences is { } stop ? [.. stop] : [],
            TopLogprobs = options.AdditionalProperties?.TryGetValue(TokenLogprob.TopLogprobsOptionKey, out int top) == true ? top : 0,
        };
        return sampling;
    }

    private (IReadOnlyList<int> Prompt, CoreChat.SamplingParameters Sampling) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.ModelId is { } model && model != generation.Model.ModelId)
            throw new ArgumentException($"The model '{model}' is not served here; this client serves '{generation.Model.ModelId}'.", nameof(options));
        var sampling = ToSampling(options);
        if (sampling.FindProblem() is { } problem) throw new ArgumentException($"'{problem.Field}' {problem.Message}", nameof(options));
        var chat = messages.Select(m => new CoreChat.ChatMessage(m.Role.Value, m.Text)).ToList();
        if (chat.Count == 0) throw new ArgumentException("A chat needs at least one message.", nameof(messages));
        try
        {
            return generation.PrepareChat(chat, sampling);
        }
        catch (ApiError e)
        {
            throw new ArgumentException(e.Message, nameof(messages), e);
        }
    }

    private ChatResponseUpdate Update(string id, DateTimeOffset created, IList<AIContent> contents, object raw, AdditionalPropertiesDictionary? properties) =>
        new(ChatRole.Assistant, contents)
        {
            ResponseId = id,
            MessageId = id,
            ModelId = generation.Model.ModelId,
            CreatedAt = created,
            RawRepresentation = raw,
            AdditionalProperties = properties,
        };

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);

    private static UsageDetails Usage(int prompt, int completion) =>
        new() { InputTokenCount = prompt, OutputTokenCount = completion, TotalTokenCount = prompt + completion };

    private static ChatFinishReason FinishReason(string reason) => reason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;
}
