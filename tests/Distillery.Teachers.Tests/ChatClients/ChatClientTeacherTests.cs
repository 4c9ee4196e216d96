using System;
using System.ClientModel;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Models.Loading;
using Distillery.Server;
using Distillery.Teachers.ChatClients;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Microsoft.Extensions.AI;
using OpenAI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using CoreMessage = Distillery.Core.Chat.ChatMessage;

namespace Distillery.Teachers.Tests.ChatClients;

/// <summary>Microsoft.Extensions.AI chat clients as teachers, against real servers on loopback.</summary>
public sealed class ChatClientTeacherTests
{
    private static IChatClient MeaiOpenAi(Uri baseUrl, string model) =>
        new OpenAI.Chat.ChatClient(model, new ApiKeyCredential(TestTeachers.Key),
            new OpenAIClientOptions { Endpoint = baseUrl, NetworkTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) })
            .AsIChatClient();

    [Fact]
    public async Task An_MEAI_OpenAI_client_at_distill_serve_labels_the_same_rows_as_the_openai_teacher_and_the_ledger_keeps_both()
    {
        using var bundle = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"));
        await using var server = await OpenAiServer.StartAsync(new ModelBundleService(bundle, "stories260K"), new ServerOptions { Port = 0 });
        var baseUrl = new Uri(server.BaseAddress, "v1");
        using var dir = new ScratchFolder();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["Once upon a time", "Tom had a dog", "The sun was hot"]);
        var sampling = new SamplingParameters { Temperature = 0.8, TopP = 0.95, MaxTokens = 24, TopLogprobs = 3, Seed = 7 };
        LabelingOptions Options(string output) => new() { PromptsPath = prompts, OutputDirectory = dir.File(output), Sampling = sampling, LedgerPath = dir.File("ledger.db") };
        var openai = TeacherFactory.Wrap(new OpenAiTeacher("stories260K", baseUrl, TestTeachers.Key, TimeSpan.FromSeconds(30)), new TeacherSettings());
        using var client = MeaiOpenAi(baseUrl, "stories260K");
        var adapted = TeacherFactory.FromChatClient(client, new TeacherSettings());

        Assert.True((await new LabelingRunner(openai, Options("openai")).RunAsync()).Succeeded);
        Assert.True((await new LabelingRunner(adapted, Options("meai")).RunAsync()).Succeeded);

        var expected = (await DatasetReader.ReadAllRowsAsync(dir.File("openai"))).OrderBy(r => r.Distillery!.PromptId).ToList();
        var actual = (await DatasetReader.ReadAllRowsAsync(dir.File("meai"))).OrderBy(r => r.Distillery!.PromptId).ToList();
        Assert.Equal(3, actual.Count);
        Assert.All(expected.Zip(actual), pair =>
        {
            var (e, a) = (pair.First.Distillery!, pair.Second.Distillery!);
            Assert.Equal(pair.First.Messages, pair.Second.Messages);
            Assert.True(a.Tokens.Count > 5, "the adapter took no logprobs");
            Assert.Equal(JsonSerializer.Serialize(e.Tokens), JsonSerializer.Serialize(a.Tokens));
            Assert.Equal((e.PromptId, e.Sample, e.FinishReason, e.Usage), (a.PromptId, a.Sample, a.FinishReason, a.Usage));
            Assert.Equal(JsonSerializer.Serialize(e.Teacher with { Provider = "" }), JsonSerializer.Serialize(a.Teacher with { Provider = "" }));
            Assert.Equal(("openai", "meai.openai"), (e.Teacher.Provider, a.Teacher.Provider));
            Assert.NotEqual(e.RequestHash, a.RequestHash);
        });
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        var entries = await ledger.ReadAllAsync();
        Assert.Equal(3, entries.Count(e => e.Provider == "openai"));
        Assert.Equal(3, entries.Count(e => e.Provider == "meai.openai"));
    }

    [Fact]
    public async Task Failures_through_the_adapter_are_retried_as_for_openai_teachers()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, attempt) => attempt == 1 ? Fault.ServerError : Fault.None;
        var statistics = new TeacherStatistics();
        using var client = MeaiOpenAi(server.BaseUrl, "gpt-test");
        var teacher = TeacherFactory.FromChatClient(client, new TeacherSettings { Retry = TestTeachers.FastRetry, Statistics = statistics });

        var answer = await teacher.CompleteAsync(new TeacherRequest([CoreMessage.User("hello there")], new SamplingParameters { MaxTokens = 8, TopLogprobs = 2 }));

        Assert.Equal(1, statistics.Retries);
        Assert.Equal(string.Concat(FakeOpenAiServer.CompletionTokens("hello there", 8)), answer.Text);
        Assert.Equal(FakeOpenAiServer.Logprob(0, 0), answer.Tokens[0].Logprob, 6);
        Assert.Equal(2, answer.Tokens[0].TopLogprobs.Count);
    }

    [Fact]
    public async Task A_provider_without_logprobs_labels_rows_without_tokens()
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["abc", "hello"]);
        using var client = new ReversingChatClient();

        var summary = await new LabelingRunner(TeacherFactory.FromChatClient(client, new TeacherSettings()),
            new LabelingOptions { PromptsPath = prompts, OutputDirectory = dir.File("out"), Sampling = new SamplingParameters { MaxTokens = 8 } }).RunAsync();

        Assert.True(summary.Succeeded);
        var rows = await DatasetReader.ReadAllRowsAsync(dir.File("out"));
        Assert.Equal(["cba", "olleh"], rows.Select(r => r.Messages[^1].Content).Order());
        Assert.All(rows, r => Assert.Empty(r.Distillery!.Tokens));
        Assert.All(rows, r => Assert.Equal(("meai.reverser", "reverse-1", "in-process"), (r.Distillery!.Teacher.Provider, r.Distillery.Teacher.Model, r.Distillery.Teacher.Endpoint)));
    }

    [Fact]
    public void A_client_that_names_no_model_needs_one()
    {
        using var client = new ReversingChatClient(reportModel: false);
        var e = Assert.Throws<ArgumentException>(() => new ChatClientTeacher(client, TimeSpan.FromSeconds(1)));
        Assert.Contains("name the model", e.Message, StringComparison.Ordinal);
        Assert.Equal("chosen", new ChatClientTeacher(client, TimeSpan.FromSeconds(1), "chosen").Identity.Model);
    }

    /// <summary>A provider that exposes no logprobs: it answers the last message reversed.</summary>
    private sealed class ReversingChatClient(bool reportModel = true) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new AiChatMessage(ChatRole.Assistant, new string(messages.Last().Text.Reverse().ToArray())))
            {
                FinishReason = Microsoft.Extensions.AI.ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 1 },
            });

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
            [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates()) yield return update;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("reverser", null, reportModel ? "reverse-1" : null) : null;

        public void Dispose()
        {
        }
    }
}
