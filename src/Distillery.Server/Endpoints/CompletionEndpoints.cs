using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Server.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Distillery.Server.Endpoints;

/// <summary>The OpenAI routes: models, health, chat completions (with streaming) and completions (with echo scoring).</summary>
public sealed class CompletionEndpoints(ChatGeneration generation, ServerOptions options, SemaphoreSlim gate, ServerStats stats)
{
    private readonly ILanguageModelService model = generation.Model;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Adds the routes to the application.</summary>
    public void Map(WebApplication app)
    {
        app.MapGet("/health", () => Results.Json(new { status = "ok", model = model.ModelId }));
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { ModelEntry() } }));
        app.MapGet("/v1/models/{id}", (string id) => id == model.ModelId ? Results.Json(ModelEntry()) : throw UnknownModel(id));
        app.MapPost("/v1/chat/completions", ChatAsync);
        app.MapPost("/v1/completions", CompleteAsync);
    }

    private object ModelEntry() => new { id = model.ModelId, @object = "model", created = this.created, owned_by = ServerInfo.Owner };

    private ApiError UnknownModel(string id) =>
        new(404, $"The model '{id}' does not exist; this server serves '{model.ModelId}'.", "model", code: "model_not_found");

    private async Task ChatAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancel);
        var request = ChatCompletionRequest.Parse(body.RootElement, model.ContextLength, options.MaxChoices);
        if (request.Model != model.ModelId) throw UnknownModel(request.Model);
        var (prompt, sampling) = generation.PrepareChat(request.Messages, request.Sampling);
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream)
        {
            await StreamChatAsync(context, request, prompt, sampling, id, created);
            return;
        }
        var choices = new List<ChatChoice>();
        int completionTokens = 0;
        for (int i = 0; i < request.N; i++)
        {
            var outcome = await generation.GenerateAsync(prompt, sampling, i, null, cancel);
            completionTokens += outcome.CompletionTokens;
            choices.Add(new ChatChoice(i, new AssistantMessage(outcome.Text), request.Logprobs ? new ChoiceLogprobs(outcome.Tokens) : null, outcome.FinishReason));
        }
        await context.Response.WriteAsJsonAsync(new ChatCompletionResponse(id, created, model.ModelId, choices, new Usage(prompt.Count, completionTokens)), Json, cancel);
    }

    private async Task StreamChatAsync(HttpContext context, ChatCompletionRequest request, IReadOnlyList<int> prompt, SamplingParameters sampling, string id, long created)
    {
        var cancel = context.RequestAborted;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        int completionTokens = 0;
        for (int i = 0; i < request.N; i++)
        {
            var index = i;
            await WriteEventAsync(context, new ChatCompletionChunk(id, created, model.ModelId, [new ChunkChoice(index, new ChunkDelta("assistant", ""), null, null)], null));
            var stream = generation.Stream(prompt, sampling, i, cancel);
            await foreach (var token in stream.Tokens)
            {
                var logprobs = request.Logprobs ? new ChoiceLogprobs([token]) : null;
                await WriteEventAsync(context, new ChatCompletionChunk(id, created, model.ModelId, [new ChunkChoice(index, new ChunkDelta(null, token.Token), logprobs, null)], null));
            }
            var outcome = await stream.Outcome;
            completionTokens += outcome.CompletionTokens;
            var last = i == request.N - 1;
            await WriteEventAsync(context, new ChatCompletionChunk(id, created, model.ModelId, [new ChunkChoice(index, new ChunkDelta(null, null), null, outcome.FinishReason)],
                last ? new Usage(prompt.Count, completionTokens) : null));
        }
        await context.Response.WriteAsync("data: [DONE]\n\n", cancel);
        await context.Response.Body.FlushAsync(cancel);
    }

    private async Task CompleteAsync(HttpContext context)
    {
        var cancel = context.RequestAborted;
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancel);
        var request = CompletionRequest.Parse(body.RootElement, model.ContextLength, options.MaxChoices);
        if (request.Model != model.ModelId) throw UnknownModel(request.Model);
        var prompt = model.EncodeText(request.Prompt);
        // Scoring (echo with max_tokens 0) takes a prompt that fills the context; anything longer cannot be read at all.
        if (prompt.Count > model.ContextLength) throw generation.ContextLengthExceeded(prompt.Count, "prompt");
        var sampling = request.Sampling.MaxTokens > 0 ? generation.ClampToContext(request.Sampling, prompt.Count, "prompt") : request.Sampling;
        var id = "cmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        IReadOnlyList<ScoredToken> echoed = [];
        if (request.Echo)
        {
            await gate.WaitAsync(cancel);
            try { echoed = await Task.Run(() => model.Score(prompt, request.Logprobs ?? 0, cancel), cancel); }
            finally { gate.Release(); }
            stats.CountCompletion(prompt.Count, 0);
        }
        var choices = new List<CompletionChoice>();
        int completionTokens = 0;
        for (int i = 0; i < request.N; i++)
        {
            var outcome = request.Sampling.MaxTokens > 0
                ? await generation.GenerateAsync(prompt, sampling, i, null, cancel)
                : new GenerationOutcome("", [], "length", prompt.Count, 0);
            completionTokens += outcome.CompletionTokens;
            var entries = echoed.Concat(outcome.Tokens.Select(t => new ScoredToken(t.Id ?? -1, t.Token, t.Logprob, t.TopLogprobs))).ToList();
            var text = (request.Echo ? request.Prompt : "") + outcome.Text;
            var echoOffsets = request.Echo && request.Logprobs is not null ? model.TextOffsets(request.Prompt, prompt) : [];
            choices.Add(new CompletionChoice(i, text, request.Logprobs is null ? null : LegacyLogprobs(entries, echoOffsets, request.Echo ? request.Prompt.Length : 0), outcome.FinishReason));
        }
        await context.Response.WriteAsJsonAsync(new CompletionResponse(id, created, model.ModelId, choices, new Usage(prompt.Count, completionTokens)), Json, cancel);
    }

    /// <summary>The legacy logprobs of the echoed prompt (at <paramref name="echoOffsets"/>, where each starts in the prompt) and the generated tokens after it (from <paramref name="generatedStart"/>).</summary>
    private static CompletionLogprobs LegacyLogprobs(IReadOnlyList<ScoredToken> entries, IReadOnlyList<int> echoOffsets, int generatedStart)
    {
        var offsets = new List<int>(entries.Count);
        offsets.AddRange(echoOffsets);
        var offset = generatedStart;
        foreach (var entry in entries.Skip(echoOffsets.Count))
        {
            offsets.Add(offset);
            offset += entry.Token.Length;
        }
        return new CompletionLogprobs(
            entries.Select(e => e.Token).ToList(),
            entries.Select(e => e.Logprob).ToList(),
            entries.Select(e => e.Logprob is null ? null : (IReadOnlyDictionary<string, double>)e.TopLogprobs
                .GroupBy(t => t.Token).ToDictionary(g => g.Key, g => g.First().Logprob)).ToList(),
            offsets);
    }

    private static async Task WriteEventAsync<T>(HttpContext context, T payload)
    {
        var json = JsonSerializer.Serialize(payload, Json);
        await context.Response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
