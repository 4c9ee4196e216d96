using System;
using System.ClientModel;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;
using Distillery.Teachers.OpenAi;
using Microsoft.Extensions.AI;
using CoreChat = Distillery.Core.Chat;
using SdkChat = OpenAI.Chat;

namespace Distillery.Teachers.ChatClients;

/// <summary>
/// Any Microsoft.Extensions.AI <see cref="IChatClient"/> as a teacher. Token logprobs are taken where the provider carries them: the
/// M.E.AI OpenAI adapter's raw <c>ChatCompletion</c> (asked for through <see cref="ChatOptions.RawRepresentationFactory"/>) or a
/// Distillery student's <see cref="TokenLogprob.ChatPropertyKey"/> property. Where a provider gives none, the completion's tokens are
/// empty, the rows store none, and token-level training modes refuse those rows. Wrap it with <see cref="TeacherFactory.Wrap"/> as any teacher.
/// </summary>
public sealed class ChatClientTeacher : ITeacher
{
    /// <summary>What the teacher's provider starts with, before the M.E.AI provider's name: its ledger entries and rows are its own.</summary>
    public const string ProviderPrefix = "meai.";

    private readonly IChatClient client;
    private readonly TimeSpan timeout;

    /// <summary>Wraps a client; the identity is taken from its <see cref="ChatClientMetadata"/> unless <paramref name="model"/> names the model to ask for.</summary>
    public ChatClientTeacher(IChatClient client, TimeSpan timeout, string? model = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
        this.timeout = timeout;
        var metadata = client.GetService<ChatClientMetadata>();
        var modelId = model ?? metadata?.DefaultModelId
            ?? throw new ArgumentException("the chat client reports no default model; name the model to ask for", nameof(model));
        Identity = new TeacherIdentity(ProviderPrefix + (metadata?.ProviderName ?? "chatclient"), modelId,
            metadata?.ProviderUri is { } uri ? OpenAiTeacher.EndpointText(uri) : "in-process");
    }

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <inheritdoc />
    public async Task<CoreChat.Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sampling = request.Sampling;
        if (sampling.FindProblem(OpenAiTeacher.MaxTopLogprobs, OpenAiTeacher.MaxSampledLogprobs) is { } problem)
            throw new TeacherException(TeacherFailureKind.Rejected, $"{problem.Field} {problem.Message}, what a chat client allows");
        var messages = request.Messages.Select(m => new ChatMessage(new ChatRole(m.Role), m.Content)).ToList();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        ChatResponse response;
        try
        {
            response = await client.GetResponseAsync(messages, Options(sampling), attempt.Token);
        }
        catch (ClientResultException e)
        {
            throw OpenAiTeacher.Classify(e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"no answer within {timeout.TotalSeconds:F0} s", null, null, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException)
        {
            throw new TeacherException(TeacherFailureKind.Transient, $"connection failed: {ErrorText.OneLine(e.Message)}", null, null, e);
        }
        return ToCompletion(response);
    }

    /// <summary>The chat options for a request: sampling as asked, logprobs asked of the providers that take them.</summary>
    private ChatOptions Options(CoreChat.SamplingParameters sampling)
    {
        var options = new ChatOptions
        {
            ModelId = Identity.Model,
            Temperature = (float)sampling.Temperature,
            TopP = (float)sampling.TopP,
            MaxOutputTokens = sampling.MaxTokens,
            Seed = sampling.Seed,
            StopSequences = sampling.Stop.Count > 0 ? [.. sampling.Stop] : null,
            AdditionalProperties = new() { [TokenLogprob.TopLogprobsOptionKey] = sampling.TopLogprobs },
            // The M.E.AI OpenAI adapter starts from these options: it returns logprobs only when asked through them.
            RawRepresentationFactory = _ => new SdkChat.ChatCompletionOptions
            {
                IncludeLogProbabilities = true,
                TopLogProbabilityCount = sampling.TopLogprobs > 0 ? sampling.TopLogprobs : null,
            },
        };
        if (sampling.TopK > 0) options.TopK = sampling.TopK;
        return options;
    }

    private CoreChat.Completion ToCompletion(ChatResponse response)
    {
        var tokens = Logprobs(response);
        var usage = response.Usage is { } u
            ? new CoreChat.TokenUsage((int)(u.InputTokenCount ?? 0), (int)(u.OutputTokenCount ?? tokens.Count))
            : new CoreChat.TokenUsage(0, tokens.Count);
        var model = string.IsNullOrEmpty(response.ModelId) ? Identity.Model : response.ModelId;
        return new CoreChat.Completion(response.Text, tokens, response.FinishReason?.Value ?? "stop", model, usage);
    }

    /// <summary>The response's token logprobs where its provider carries them; none otherwise.</summary>
    private static IReadOnlyList<TokenLogprob> Logprobs(ChatResponse response)
    {
        if (response.RawRepresentation is SdkChat.ChatCompletion completion) return OpenAiTeacher.Tokens(completion.ContentTokenLogProbabilities);
        if (response.AdditionalProperties?.TryGetValue(TokenLogprob.ChatPropertyKey, out var value) == true && value is IReadOnlyList<TokenLogprob> tokens) return tokens;
        return [];
    }
}
