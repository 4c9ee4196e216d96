using System;
using System.ClientModel;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiFinishReason = Microsoft.Extensions.AI.ChatFinishReason;

namespace Distillery.Server.Tests;

/// <summary>The student as an M.E.AI <see cref="IChatClient"/>, against <c>distill serve</c>'s server on a real loopback port.</summary>
[Collection(ServedStoriesCollection.Name)]
public sealed class StudentChatClientTests(ServedStories served)
{
    private const string Prompt = "Once upon a time, there was a little girl named Lily.";

    private static readonly ChatOptions Sampled = new() { Temperature = 0.8f, TopP = 0.9f, MaxOutputTokens = 40, Seed = 1234, StopSequences = ["\n\n"] };

    private StudentChatClient Student() => new(new ModelBundleService(served.Bundle, ServedStories.ModelId));

    private ChatClient Sdk() =>
        new(ServedStories.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = served.ApiBase, NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static ChatCompletionOptions SdkOptions() =>
#pragma warning disable OPENAI001 // Seed is experimental in the SDK
        new() { Temperature = 0.8f, TopP = 0.9f, MaxOutputTokenCount = 40, Seed = 1234, StopSequences = { "\n\n" }, IncludeLogProbabilities = true };
#pragma warning restore OPENAI001

    [Fact]
    public async Task A_response_is_the_servers_answer_for_the_same_seed_with_its_logprobs()
    {
        using var student = Student();
        ChatCompletion served = await Sdk().CompleteChatAsync([new UserChatMessage(Prompt)], SdkOptions());

        var response = await student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled);

        Assert.Equal(served.Content[0].Text, response.Text);
        Assert.True(response.Text.Length > 20, $"too short to compare: '{response.Text}'");
        Assert.Equal(served.Usage.InputTokenCount, response.Usage!.InputTokenCount);
        Assert.Equal(served.Usage.OutputTokenCount, response.Usage.OutputTokenCount);
        Assert.Equal(served.FinishReason == OpenAI.Chat.ChatFinishReason.Length ? AiFinishReason.Length : AiFinishReason.Stop, response.FinishReason);
        var logprobs = Assert.IsAssignableFrom<IReadOnlyList<TokenLogprob>>(response.AdditionalProperties![TokenLogprob.ChatPropertyKey]);
        Assert.Equal(served.ContentTokenLogProbabilities.Select(t => t.Token), logprobs.Select(t => t.Token));
        Assert.Equal(served.ContentTokenLogProbabilities.Select(t => t.LogProbability), logprobs.Select(t => (float)t.Logprob));
        Assert.IsType<GenerationOutcome>(response.RawRepresentation);
        Assert.Equal(ServedStories.ModelId, response.ModelId);
    }

    [Fact]
    public async Task A_different_seed_gives_a_different_answer()
    {
        using var student = Student();
        var one = await student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled);
        var reseeded = Sampled.Clone();
        reseeded.Seed = 99;
        var other = await student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], reseeded);
        Assert.NotEqual(one.Text, other.Text);
    }

    [Fact]
    public async Task Streaming_yields_the_servers_stream_token_by_token()
    {
        using var student = Student();
        var servedTokens = new List<string>();
        ChatTokenUsage? servedUsage = null;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([new UserChatMessage(Prompt)], SdkOptions()))
        {
            servedTokens.AddRange(update.ContentUpdate.Select(p => p.Text).Where(t => t.Length > 0));
            servedUsage ??= update.Usage;
        }

        var tokens = new List<string>();
        UsageDetails? usage = null;
        AiFinishReason? finish = null;
        await foreach (var update in student.GetStreamingResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled))
        {
            if (update.Text.Length > 0) tokens.Add(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
            finish ??= update.FinishReason;
        }

        Assert.True(servedTokens.Count > 5, $"only {servedTokens.Count} tokens served");
        Assert.Equal(servedTokens, tokens);
        Assert.Equal(servedUsage!.OutputTokenCount, usage!.OutputTokenCount);
        Assert.Equal(servedUsage.InputTokenCount, usage.InputTokenCount);
        Assert.NotNull(finish);
        var whole = await student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled);
        Assert.Equal(whole.Text, string.Concat(tokens));
    }

    [Fact]
    public async Task Registered_with_AddChatClient_it_composes_with_logging_and_distributed_cache_middleware()
    {
        using var student = Student();
        var logs = new CollectingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton<IDistributedCache>(new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions())));
        services.AddChatClient(student).UseDistributedCache().UseLogging();
        using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();

        var first = await client.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled);
        var generated = student.Stats.Completions;
        var second = await client.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], Sampled);

        Assert.Equal(1, generated);
        Assert.Equal(generated, student.Stats.Completions); // the cache answered the second call
        Assert.Equal(first.Text, second.Text);
        Assert.Contains(logs.Messages, m => m.Contains("GetResponseAsync", StringComparison.Ordinal));
        Assert.Same(student, client.GetService<StudentChatClient>());
        Assert.Equal(ServedStories.ModelId, client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public async Task Options_outside_their_limits_are_refused_naming_the_field()
    {
        using var student = Student();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], new ChatOptions { Temperature = 3 }));
        Assert.Contains("temperature", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => student.GetResponseAsync([new AiChatMessage(ChatRole.User, Prompt)], new ChatOptions { ModelId = "gpt-9" }));
        Assert.Contains("gpt-9", e.Message, StringComparison.Ordinal);
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Collector(this);

        public void Dispose()
        {
        }

        private sealed class Collector(CollectingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Messages) owner.Messages.Add(formatter(state, exception));
            }
        }
    }
}
