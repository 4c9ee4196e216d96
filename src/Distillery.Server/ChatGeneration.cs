using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Tokens;
using Distillery.Server.Protocol;

namespace Distillery.Server;

/// <summary>
/// The one path from a prompt to generated tokens, shared by the HTTP server's routes and <see cref="StudentChatClient"/>, so both answer
/// alike: context clamping, the seed of each choice, one generation at a time per gate, off the caller's thread, counted in the stats.
/// </summary>
public sealed class ChatGeneration(ILanguageModelService model, SemaphoreSlim gate, ServerStats stats)
{
    /// <summary>The model generations run on.</summary>
    public ILanguageModelService Model => model;

    /// <summary>A chat rendered with the model's template, and its sampling clamped to the room the context leaves.</summary>
    public (IReadOnlyList<int> Prompt, SamplingParameters Sampling) PrepareChat(IReadOnlyList<ChatMessage> messages, SamplingParameters sampling)
    {
        var prompt = model.EncodeChat(messages);
        return (prompt, ClampToContext(sampling, prompt.Count, "messages"));
    }

    /// <summary>Generates choice <paramref name="choice"/> (its seed is the request's plus the choice's index), reporting each token as it comes.</summary>
    public async Task<GenerationOutcome> GenerateAsync(IReadOnlyList<int> prompt, SamplingParameters sampling, int choice, Action<TokenLogprob>? onToken, CancellationToken cancel)
    {
        var seeded = SeedFor(sampling, choice);
        await gate.WaitAsync(cancel);
        try
        {
            // Generation is CPU-bound: keep it off the caller's thread so other requests are still accepted.
            var outcome = await Task.Run(() => model.GenerateAsync(prompt, seeded, onToken, cancel), cancel);
            stats.CountCompletion(outcome.PromptTokens, outcome.CompletionTokens);
            return outcome;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            stats.CountCancelled();
            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Starts generating choice <paramref name="choice"/> and hands back its tokens as they come and the outcome once done.</summary>
    public GenerationStream Stream(IReadOnlyList<int> prompt, SamplingParameters sampling, int choice, CancellationToken cancel)
    {
        var tokens = Channel.CreateUnbounded<TokenLogprob>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var outcome = GenerateAsync(prompt, sampling, choice, t => tokens.Writer.TryWrite(t), cancel)
            .ContinueWith(t => { tokens.Writer.TryComplete(t.Exception); return t; }, TaskScheduler.Default).Unwrap();
        return new GenerationStream(tokens.Reader.ReadAllAsync(cancel), outcome);
    }

    /// <summary>The sampling with its token limit lowered to the room the prompt leaves; no room at all is a 400 naming <paramref name="param"/>.</summary>
    public SamplingParameters ClampToContext(SamplingParameters sampling, int promptTokens, string param)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        var room = model.ContextLength - promptTokens;
        if (room < 1) throw ContextLengthExceeded(promptTokens, param);
        return sampling.MaxTokens > room ? sampling with { MaxTokens = room } : sampling;
    }

    /// <summary>OpenAI's answer to a prompt the model's context cannot hold: a 400 with code <c>context_length_exceeded</c>.</summary>
    public ApiError ContextLengthExceeded(int promptTokens, string param) =>
        new(400, $"This model's maximum context length is {model.ContextLength} tokens, and the prompt is {promptTokens} tokens, which leaves no room to generate; shorten the prompt.",
            param, code: "context_length_exceeded");

    private static SamplingParameters SeedFor(SamplingParameters sampling, int choice) =>
        sampling.Seed is { } seed && choice > 0 ? sampling with { Seed = unchecked(seed + choice) } : sampling;
}

/// <summary>A generation under way: its tokens as they are produced, and its outcome once it ends.</summary>
public sealed record GenerationStream(IAsyncEnumerable<TokenLogprob> Tokens, Task<GenerationOutcome> Outcome);
