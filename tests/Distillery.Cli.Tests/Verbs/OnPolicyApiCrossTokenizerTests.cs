using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Teachers;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language.Objectives;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>
/// On-policy training with a teacher behind an API whose tokenizer differs from the student's: stories260K (tok512) served
/// by <c>distill serve</c>'s server on a loopback port scores samples of a student on the committed SentencePiece BPE-1024
/// tokenizer, chunk by aligned chunk. Its runs are compared bit for bit, so the class runs alone (<see cref="SerialTorchCollection"/>).
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class OnPolicyApiCrossTokenizerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ModelId = ServedStoriesTeacher.ModelId;

    private static readonly string[] Openings =
    [
        "Once upon a time, there was a little girl named Lily.", "Tom had a red ball.", "The sun was hot and the sky was blue.", "Mia loved to sing.",
        "A small bird sat on a tree.", "Ben found a big box.", "The cat was hungry.", "One day, a dog went to the park.",
    ];

    private readonly ScratchFolder scratch = new("onpolicy-api-cross");
    private ServedStoriesTeacher served = null!;

    private static string SpmPath => TokenizerData.Committed("spm-bpe-1024/tokenizer.model");

    private ModelBundle Teacher => served.Bundle;

    private string BaseUrl => served.BaseUrl;

    public async Task InitializeAsync() => served = await ServedStoriesTeacher.StartAsync();

    public async Task DisposeAsync()
    {
        await served.DisposeAsync();
        scratch.Dispose();
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Each_aligned_chunk_gets_over_HTTP_the_local_teachers_chunk_logprob()
    {
        var student = await TokenizerData.LoadSpm1024Async();
        using var scoring = new CompletionScoringTeacher(ModelId, new Uri(BaseUrl), "no-key", TimeSpan.FromSeconds(60));
        // Pieces an untrained student may sample: whole ASCII text, no special or byte-fallback tokens.
        var pieces = Enumerable.Range(0, student.VocabSize).Where(id => !student.IsSpecial(id) && student.TokenBytes(id).ToArray() is { Length: > 0 } b && b.All(x => x is >= 32 and < 127)).ToArray();
        int compared = 0, chunked = 0;
        var largest = 0.0;
        for (var i = 0; i < Openings.Length; i++)
        {
            // The student's sequence: its prompt, then a continuation in its own tokens: the teacher's story (even i) or random pieces (odd i).
            var prompt = student.Encode(Openings[i] + "\n", addBos: true);
            var random = new Random(i);
            IReadOnlyList<int> continuation = i % 2 == 0
                ? student.Encode(Teacher.Generate(Teacher.EncodePrompt(Openings[i]), new SamplingParameters { Temperature = 1, MaxTokens = 24, Seed = i }).Text)
                : [.. Enumerable.Range(0, 16).Select(_ => pieces[random.Next(pieces.Length)])];
            int[] ids = [.. prompt, .. continuation];
            var (text, spelled) = SampledTokenMatch.TextOf(student, ids);
            var answer = await scoring.CompleteAsync(new TeacherRequest([ChatMessage.User(text)], new SamplingParameters { MaxTokens = 0, TopLogprobs = 1 }));
            var api = SampledTokenMatch.TeacherLogprobs(student, ids, prompt.Count, text, spelled,
                new TeacherTextScore([.. answer.Tokens.Select(t => t.Bytes.Count)], [.. answer.Tokens.Select(t => t.Logprob)]));

            // The reference: the local teacher's forward pass over its own tokens of the text, summed over the same chunks.
            var teacherIds = Teacher.EncodePrompt(text);
            double[] local = [0, .. TokenScoring.Score(Teacher.Model, Teacher.Tokenizer, teacherIds).Select(t => t.Logprob)];
            var chunks = TokenAlignment.Align(Teacher.Tokenizer, teacherIds, student, [.. ids.Take(spelled)], text);
            var totals = TeacherChunkScoring.ChunkLogprobs(local, chunks);
            for (var c = 0; c < chunks.Count; c++)
            {
                if (chunks[c].StudentStart < prompt.Count) continue;
                var logprob = api.TeacherLogprobs[chunks[c].StudentStart - prompt.Count]!.Value;
                largest = Math.Max(largest, Math.Abs(totals[c] - logprob));
                Assert.Equal(totals[c], logprob, 1e-4);
                compared++;
                if (!chunks[c].IsOneToOne) chunked++;
            }
            Assert.Equal(api.OneToOne + api.ChunkedTokens, ids.Length - prompt.Count); // every continuation token is scored
        }
        output.WriteLine($"{compared} chunks compared ({chunked} of more than one token on a side); largest |API − local| {largest:G3}");
        Assert.True(compared > 60, $"only {compared} chunks compared");
        Assert.True(chunked > 10, $"only {chunked} chunks of several tokens: the tokenizers hardly differ on this text");
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task A_short_run_across_tokenizers_trains_is_deterministic_and_its_ledger_counts_the_requests()
    {
        var data = await DatasetAsync();
        var first = await TrainAsync(data, "first");
        var second = await TrainAsync(data, "second");
        Assert.Equal(File.ReadAllBytes(Path.Combine(first.Out, "model.safetensors")), File.ReadAllBytes(Path.Combine(second.Out, "model.safetensors")));
        Assert.Equal(first.Sent, second.Sent);

        var lineage = (await LineageFile.ReadAsync(first.Out))!;
        Assert.True(lineage.Metrics!.FinalTrainLoss is { } loss && double.IsFinite(loss) && loss != 0, $"final loss {lineage.Metrics.FinalTrainLoss}");
        Assert.Contains("samples scored by openai:" + ModelId, lineage.Losses, StringComparison.Ordinal);
        Assert.Contains("per aligned chunk; on the dataset's text cross-tokenizer", lineage.Losses, StringComparison.Ordinal);
        Assert.NotNull(lineage.CrossTokenizer);
        var scoring = lineage.OnPolicyScoring!;
        Assert.True(scoring.Sequences > 0 && scoring.ChunkedTokens > 0, scoring.ToString());

        await using (var ledger = await TeacherLedger.OpenAsync(Path.Combine(first.Out, DatasetFolder.LedgerFile)))
        {
            var entries = await ledger.ReadAllAsync();
            Assert.Equal(first.Sent, entries.Count);
            Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
        }
        var (auditExit, audit, auditError) = await Distill.RunAsync("audit", first.Out, "--json");
        Assert.True(auditExit == 0, auditError);
        Assert.Equal(first.Sent, (long)JsonNode.Parse(audit)!["on_policy_scoring"]!["requests"]!);
        output.WriteLine($"{first.Sent} scoring requests per run; {scoring}; losses: {lineage.Losses}");
    }

    [Fact]
    public async Task A_teacher_whose_tokens_cannot_be_aligned_is_refused_in_one_line()
    {
        var data = await DatasetAsync();
        await using var relay = await OffsetStrippingRelay.StartAsync(new Uri(BaseUrl + "/completions"));
        var outDir = scratch.File("unaligned");
        var (exit, _, error) = await Distill.RunAsync("train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:" + ModelId,
            "--base-url", relay.BaseUrl, "--tokenizer", SpmPath, "--chat-template", "plain", "--steps", "2", "--batch-size", "2", "--seq-len", "64");
        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("distill: --teacher", line, StringComparison.Ordinal);
        Assert.Contains("text_offset", line, StringComparison.Ordinal);
        Assert.Contains(relay.BaseUrl + "/completions", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outDir, "resume")));
        output.WriteLine(line);
    }

    private async Task<(string Out, long Sent)> TrainAsync(string data, string name)
    {
        var outDir = scratch.File(name);
        var before = served.Server.Stats.Completions;
        var (exit, stdout, error) = await Distill.RunAsync("train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:" + ModelId,
            "--base-url", BaseUrl, "--api-key-env", "DISTILLERY_TEST_NO_KEY", "--tokenizer", SpmPath, "--chat-template", "plain",
            "--steps", "4", "--batch-size", "4", "--seq-len", "64", "--max-new-tokens", "12", "--lambda", "1", "--lr", "0.005", "--seed", "5");
        Assert.True(exit == 0, error);
        output.WriteLine(stdout);
        return (outDir, served.Server.Stats.Completions - before);
    }

    /// <summary>Story openings answered by the local teacher (top-3 logprobs, in its own tokens), as <c>distill generate</c> writes them.</summary>
    private async Task<string> DatasetAsync()
    {
        var dir = scratch.File("data");
        if (Directory.Exists(dir)) return dir;
        var rows = new List<DatasetRow>();
        for (var i = 0; i < 12; i++)
        {
            var messages = new List<ChatMessage> { ChatMessage.User(Openings[i % Openings.Length]) };
            var sampling = new SamplingParameters { Temperature = 1, MaxTokens = 20, Seed = i, TopLogprobs = 3 };
            var result = Teacher.GenerateChat(messages, sampling);
            rows.Add(new DatasetRow([.. messages, ChatMessage.Assistant(result.Text)], new RowProvenance
            {
                PromptId = $"p{i}",
                Teacher = new RowTeacher { Provider = "openai", Model = ModelId, RequestedModel = ModelId, Endpoint = BaseUrl, Sampling = sampling },
                FinishReason = result.FinishReasonText,
                Tokens = result.Logprobs,
                Usage = new TokenUsage(result.PromptTokens, result.CompletionTokens),
                RequestHash = $"h{i}",
            }));
        }
        Directory.CreateDirectory(dir);
        await using var writer = await DatasetWriter.OpenAsync(dir);
        await writer.RewriteAsync(rows);
        await writer.WriteManifestAsync(new DatasetManifest { Teachers = TeacherContributions.FromRows(rows) });
        return dir;
    }

    /// <summary>A loopback relay to the teacher's <c>/v1/completions</c> that drops <c>text_offset</c> from every answer, as a server that gives no offsets would.</summary>
    private sealed class OffsetStrippingRelay : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly HttpClient http = new();

        private OffsetStrippingRelay(WebApplication app) => this.app = app;

        public string BaseUrl { get; private set; } = "";

        public static async Task<OffsetStrippingRelay> StartAsync(Uri completions)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var relay = new OffsetStrippingRelay(builder.Build());
            relay.app.MapPost("/v1/completions", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                using var forwarded = await relay.http.PostAsync(completions, new StringContent(await reader.ReadToEndAsync(), Encoding.UTF8, "application/json"));
                var answer = JsonNode.Parse(await forwarded.Content.ReadAsStringAsync())!;
                foreach (var choice in answer["choices"]?.AsArray() ?? []) choice?["logprobs"]?.AsObject().Remove("text_offset");
                context.Response.StatusCode = (int)forwarded.StatusCode;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(answer.ToJsonString());
            });
            await relay.app.StartAsync();
            var address = relay.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            relay.BaseUrl = address.TrimEnd('/') + "/v1";
            return relay;
        }

        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            http.Dispose();
        }
    }
}
