using System;
using System.ClientModel;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Distillery.Server.Tests;

/// <summary>The official OpenAI .NET SDK, pointed at <c>distill serve</c>'s server on a real loopback port.</summary>
[Collection(ServedStoriesCollection.Name)]
public sealed class OpenAiSdkTests(ServedStories served)
{
    private ChatClient Client(string model = ServedStories.ModelId, string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = served.ApiBase, NetworkTimeout = TimeSpan.FromSeconds(60) });

    private static readonly ChatMessage[] Prompt = [new UserChatMessage("Once upon a time, there was a little girl named Lily.")];

    [Fact]
    public async Task Chat_completion_returns_the_models_greedy_text_with_top_logprobs()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24, IncludeLogProbabilities = true, TopLogProbabilityCount = 5 };
        ChatCompletion completion = await Client().CompleteChatAsync(Prompt, options);

        var expected = served.Bundle.GenerateChat([Core.Chat.ChatMessage.User("Once upon a time, there was a little girl named Lily.")],
            new SamplingParameters { Temperature = 0, MaxTokens = 24 });
        Assert.Equal(expected.Text, completion.Content[0].Text);
        Assert.Equal(ServedStories.ModelId, completion.Model);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, completion.Usage.OutputTokenCount);
        var logprobs = completion.ContentTokenLogProbabilities;
        Assert.Equal(expected.Logprobs.Count, logprobs.Count);
        foreach (var token in logprobs)
        {
            Assert.Equal(5, token.TopLogProbabilities.Count);
            Assert.True(token.LogProbability <= 0);
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(token.TopLogProbabilities[0].Token, token.Token);
            Assert.Equal(token.TopLogProbabilities[0].LogProbability, token.LogProbability, 6);
            var probs = token.TopLogProbabilities.Select(t => t.LogProbability).ToList();
            Assert.Equal(probs.OrderByDescending(p => p), probs);
            Assert.Equal(token.Token, Encoding.UTF8.GetString(token.Utf8Bytes!.Value.Span));
        }
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_and_usage_as_a_plain_request()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 30 };
        ChatCompletion whole = await Client().CompleteChatAsync(Prompt, options);
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Client().CompleteChatStreamingAsync(Prompt, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.True(updates > 5, $"only {updates} updates: not streamed token by token");
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.FinishReason, finish);
    }

    [Fact]
    public async Task Unknown_model_is_404_through_the_sdk()
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client("gpt-9").CompleteChatAsync(Prompt));
        Assert.Equal(404, e.Status);
        Assert.Contains("gpt-9", e.Message);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Seeded_sampling_is_reproducible_and_n_gives_several_choices()
    {
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the server honours it.
        var options = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 20, Seed = 42 };
#pragma warning restore OPENAI001
        ChatCompletion a = await Client().CompleteChatAsync(Prompt, options);
        ChatCompletion b = await Client().CompleteChatAsync(Prompt, options);
        Assert.Equal(a.Content[0].Text, b.Content[0].Text);
        var models = await new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = served.ApiBase }).GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal([ServedStories.ModelId], models.Value.Select(m => m.Id));
    }

    [Fact]
    public async Task Server_with_a_key_refuses_a_wrong_key_and_accepts_the_right_one()
    {
        await using var server = await OpenAiServer.StartAsync(new ModelBundleService(served.Bundle, "locked"), new ServerOptions { Port = 0, ApiKey = "s3cret" });
        ChatClient Locked(string key) => new("locked", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1/") });
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Locked("wrong").CompleteChatAsync(Prompt, new ChatCompletionOptions { MaxOutputTokenCount = 2 }));
        Assert.Equal(401, e.Status);
        ChatCompletion ok = await Locked("s3cret").CompleteChatAsync(Prompt, new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.False(string.IsNullOrEmpty(ok.Content[0].Text));
    }
}
