using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>distill provenance</c> and <c>distill serve --watermark-key-env</c> end to end: real models, real sockets, the real ledger.</summary>
public sealed class ProvenanceVerbTests
{
    private const string Stories = "stories260K/stories260K.bin";
    private const string Tok512 = "stories260K/tok512.bin";

    private static async Task<string> PromptsAsync(ScratchFolder dir, int count)
    {
        var path = dir.File("prompts.txt");
        string[] openings = ["Once upon a time", "One day, a little girl", "The dog ran", "Tom and Sue", "There was a big tree", "Lily saw a bird"];
        await File.WriteAllLinesAsync(path, [.. Enumerable.Range(0, count).Select(i => $"{openings[i % openings.Length]} {i}")]);
        return path;
    }

    /// <summary>stories260K behind <c>distill serve</c> on a free loopback port with a δ 3 watermark under the key in <paramref name="keyVariable"/>, once healthy.</summary>
    private static async Task<(Task<CliResult> Run, int Port)> ServeWatermarkedAsync(string keyVariable, CancellationToken stop)
    {
        var port = FreePort();
        var run = Distill.RunAsync(["serve", "--model", "llama2c:" + SharedTestData.Get(Stories), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--watermark-key-env", keyVariable, "--watermark-delta", "3"], stop);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        for (var i = 0; ; i++)
        {
            if (run.IsCompleted) Assert.Fail("serve ended early: " + (await run).Error);
            try
            {
                using var health = await http.GetAsync("health");
                if (health.IsSuccessStatusCode) return (run, port);
            }
            catch (HttpRequestException) when (i < 600)
            {
                await Task.Delay(100);
            }
        }
    }

    private static string OneLine(CliResult result) => Assert.Single(result.Error.TrimEnd().Split('\n'));

    [Fact]
    public async Task An_API_suspect_is_scored_through_the_ledger_and_audit_shows_the_result_beside_the_lineage()
    {
        using var dir = new ScratchFolder("provenance-api");
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = await PromptsAsync(dir, 6);
        // A model folder whose lineage lists one dataset, as audit reads it.
        var data = dir.File("data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "data.jsonl"), "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"an answer\"}]}\n");
        var model = dir.File("student");
        Directory.CreateDirectory(model);
        await File.WriteAllTextAsync(Path.Combine(model, "distillery.json"), "{\"datasets\":[\"../data\"]}");
        var key = ApiKeyVariable.Create("the-teachers-watermark-key");
        string[] args = ["provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(), "--api-key-env", ApiKeyVariable.Create("sk-a"),
            "--watermark-key-env", key, "--tokenizer", SharedTestData.Get(Tok512), "--prompts", prompts, "--max-tokens", "16", "--json", Path.Combine(model, "provenance.json")];

        var run = await Distill.RunAsync(args);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("No evidence", run.Output, StringComparison.Ordinal);
        Assert.Equal(6, server.AnsweredTotal);
        var report = await ProvenanceReport.ReadAsync(Path.Combine(model, "provenance.json"));
        Assert.Equal(("radioactivity", 6L), (report.Test, report.Queries));
        Assert.InRange(report.P, 1e-3, 1);
        Assert.True(report.Figures["pairs_scored"] > 0);
        Assert.DoesNotContain("the-teachers-watermark-key", await File.ReadAllTextAsync(Path.Combine(model, "provenance.json")), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(model, "provenance-ledger.db")));

        var again = await Distill.RunAsync(args);
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Equal(6, server.AnsweredTotal); // every query answered from the ledger

        var audit = await Distill.RunAsync("audit", model);
        Assert.True(audit.ExitCode == 0, audit.Error);
        Assert.Contains("provenance (provenance.json, radioactivity test", audit.Output, StringComparison.Ordinal);
        Assert.Contains("6 queries", audit.Output, StringComparison.Ordinal);
    }

    [SharedDataFact(Stories)]
    public async Task The_agreement_test_finds_the_parent_a_suspect_derives_from_and_not_an_unrelated_one()
    {
        using var dir = new ScratchFolder("provenance-agreement");
        var prompts = await PromptsAsync(dir, 12);
        var stories = "llama2c:" + SharedTestData.Get(Stories);
        var unrelated = dir.File("unrelated");
        using (var original = await ModelLoader.LoadAsync(stories))
        using (var random = ModelBundle.CreateRandom(original.Config, 11, original.Tokenizer))
            await random.SaveAsync(unrelated);

        async Task<ProvenanceReport> Test(string parent, string reference, string name)
        {
            var json = dir.File(name + ".json");
            var result = await Distill.RunAsync("provenance", "--suspect", stories, "--parent", parent, "--reference", reference, "--prompts", prompts, "--max-tokens", "16", "--json", json);
            Assert.True(result.ExitCode == 0, result.Error);
            return await ProvenanceReport.ReadAsync(json);
        }

        var right = await Test(stories, "checkpoint:" + unrelated, "right");
        Assert.Equal("agreement", right.Test);
        Assert.Equal(1.0, right.Figures["agreement_parent"]); // greedy decoding of the same weights
        // The sign test: with no prompt closer to the reference, p = ½^(prompts where the parent is closer).
        Assert.Equal(0, right.Figures["prompts_reference_closer"]);
        Assert.InRange(right.Figures["prompts_parent_closer"], 10, 12);
        Assert.Equal(Math.Pow(0.5, right.Figures["prompts_parent_closer"]), right.P, 1e-12);
        Assert.Contains("consistent with deriving from it", right.Verdict, StringComparison.Ordinal);
        Assert.Equal(36, right.Queries);

        var wrong = await Test("checkpoint:" + unrelated, stories, "wrong");
        Assert.Equal(1.0, wrong.P);
        Assert.StartsWith("No evidence", wrong.Verdict, StringComparison.Ordinal);
    }

    [Trait("Speed", "Slow")]
    [SharedDataFact(Stories)]
    public async Task Logprob_scoring_finds_a_served_watermark_through_the_API_with_the_teacher_subtracted_and_not_under_another_key()
    {
        using var dir = new ScratchFolder("provenance-logprobs");
        var key = ApiKeyVariable.Create("served-logprob-key");
        using var stop = new CancellationTokenSource();
        var (serve, port) = await ServeWatermarkedAsync(key, stop.Token);
        var prompts = await PromptsAsync(dir, 8);
        async Task<ProvenanceReport> TestAsync(string keyVariable, string name)
        {
            var json = dir.File(name + ".json");
            var run = await Distill.RunAsync("provenance", "--suspect", "openai:stories260K", "--base-url", $"http://127.0.0.1:{port}/v1", "--api-key-env", ApiKeyVariable.Create("sk-a"),
                "--watermark-key-env", keyVariable, "--score", "logprobs", "--teacher-model", "llama2c:" + SharedTestData.Get(Stories),
                "--prompts", prompts, "--max-tokens", "24", "--json", json, "--ledger", dir.File("ledger.db"));
            Assert.True(run.ExitCode == 0, run.Error);
            return await ProvenanceReport.ReadAsync(json);
        }

        // The served distribution is the teacher's with δ added to the green logits: less the teacher, what is left leans green.
        var own = await TestAsync(key, "own");
        var other = await TestAsync(ApiKeyVariable.Create("another-key"), "other");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, (await serve).ExitCode);

        Assert.Equal(("radioactivity-logprobs", 8L, 1.0), (own.Test, own.Queries, own.Figures["teacher_subtracted"]));
        Assert.True(own.Log10P < -3, $"own key: z {own.Statistic}, log10 p {own.Log10P}"); // on 8 × 24 tokens, with the default weighting (contexts alike)
        Assert.StartsWith("Watermark found", own.Verdict, StringComparison.Ordinal);
        Assert.InRange(other.Statistic, -5, 5);
        Assert.StartsWith("No evidence", other.Verdict, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--score", "bits" }, "distill: --score: must be tokens or logprobs, not 'bits'")]
    [InlineData(new[] { "--teacher-model", "llama2c:t.bin" }, "distill: --teacher-model: is subtracted from the suspect's logprobs; add --score logprobs")]
    [InlineData(new[] { "--score", "logprobs", "--teacher-model", "openai:t" }, "distill: --teacher-model: must be a local model (llama2c:, checkpoint:, gguf:): the test needs its whole distribution")]
    [InlineData(new[] { "--score", "logprobs", "--weighting", "equal" }, "distill: --weighting: must be context, inverse-variance or mass, not 'equal'")]
    [InlineData(new[] { "--weighting", "context" }, "distill: --weighting: combines the logprob test's contexts; add --score logprobs")]
    public async Task Bad_logprob_scoring_options_are_one_line_and_exit_2_before_any_query(string[] extra, string expected)
    {
        using var dir = new ScratchFolder("provenance-bad");
        await using var server = await FakeOpenAiServer.StartAsync();
        var result = await Distill.RunAsync([.. new[] { "provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(),
            "--watermark-key-env", ApiKeyVariable.Create("k"), "--tokenizer", SharedTestData.Get(Tok512), "--prompts", await PromptsAsync(dir, 2) }, .. extra]);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal(expected, OneLine(result));
        Assert.Equal(0, server.Received);
    }

    [Fact]
    public async Task A_missing_key_variable_is_one_line_and_exit_2_before_any_query()
    {
        using var dir = new ScratchFolder("provenance-bad");
        await using var server = await FakeOpenAiServer.StartAsync();
        var result = await Distill.RunAsync("provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(),
            "--watermark-key-env", "DISTILL_TEST_NO_SUCH_VARIABLE", "--prompts", await PromptsAsync(dir, 2));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("distill: --watermark-key-env: the environment variable 'DISTILL_TEST_NO_SUCH_VARIABLE' is not set", OneLine(result));
        Assert.Equal(0, server.Received);
    }

    [Fact]
    public async Task A_min_repeats_below_one_is_one_line_and_exit_2_before_any_query()
    {
        using var dir = new ScratchFolder("provenance-bad");
        await using var server = await FakeOpenAiServer.StartAsync();
        var result = await Distill.RunAsync("provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(),
            "--watermark-key-env", ApiKeyVariable.Create("k"), "--tokenizer", SharedTestData.Get(Tok512), "--prompts", await PromptsAsync(dir, 2), "--min-repeats", "0");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("distill: --min-repeats: must be between 1 and 1000", OneLine(result));
        Assert.Equal(0, server.Received);
    }

    [Fact]
    public async Task An_empty_prompt_file_is_one_line_and_exit_2()
    {
        using var dir = new ScratchFolder("provenance-bad");
        var prompts = dir.File("empty.txt");
        await File.WriteAllTextAsync(prompts, "\n\n");
        var result = await Distill.RunAsync("provenance", "--suspect", "openai:suspect", "--base-url", "http://127.0.0.1:9/v1",
            "--watermark-key-env", ApiKeyVariable.Create("k"), "--tokenizer", SharedTestData.Get(Tok512), "--prompts", prompts);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal($"distill: {prompts}: holds no prompts", OneLine(result));
    }

    [Fact]
    public async Task A_suspect_that_returns_neither_text_nor_logprobs_is_one_line_and_exit_2()
    {
        using var dir = new ScratchFolder("provenance-bad");
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, _) => Fault.Empty;
        var result = await Distill.RunAsync("provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(),
            "--watermark-key-env", ApiKeyVariable.Create("k"), "--tokenizer", SharedTestData.Get(Tok512), "--prompts", await PromptsAsync(dir, 3),
            "--ledger", dir.File("ledger.db"));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("distill: --suspect: openai:suspect returned neither text nor logprobs for any of 3 prompts; there is nothing to score", OneLine(result));

        var logprobs = await Distill.RunAsync("provenance", "--suspect", "openai:suspect", "--base-url", server.BaseUrl.ToString(),
            "--watermark-key-env", ApiKeyVariable.Create("k"), "--tokenizer", SharedTestData.Get(Tok512), "--prompts", await PromptsAsync(dir, 3),
            "--ledger", dir.File("ledger.db"), "--score", "logprobs");
        Assert.Equal(ExitCodes.BadInput, logprobs.ExitCode);
        Assert.Equal("distill: --suspect: openai:suspect returned no top logprobs for any of 3 prompts; score its text instead (--score tokens)", OneLine(logprobs));
    }

    [Fact]
    public async Task Neither_a_key_nor_a_parent_or_a_parent_without_references_is_exit_2()
    {
        using var dir = new ScratchFolder("provenance-bad");
        var prompts = await PromptsAsync(dir, 2);
        var neither = await Distill.RunAsync("provenance", "--suspect", "openai:x", "--prompts", prompts);
        Assert.Equal(ExitCodes.BadInput, neither.ExitCode);
        Assert.StartsWith("distill: --watermark-key-env: give either", OneLine(neither), StringComparison.Ordinal);
        var alone = await Distill.RunAsync("provenance", "--suspect", "openai:x", "--parent", "openai:y", "--prompts", prompts);
        Assert.Equal(ExitCodes.BadInput, alone.ExitCode);
        Assert.StartsWith("distill: --reference:", OneLine(alone), StringComparison.Ordinal);
    }

    [Trait("Speed", "Slow")]
    [SharedDataFact(Stories)]
    public async Task Serve_with_a_watermark_key_samples_as_the_library_does_and_never_prints_the_key()
    {
        const string secret = "serve-watermark-secret-42";
        var variable = ApiKeyVariable.Create(secret);
        using var stop = new CancellationTokenSource();
        var (run, port) = await ServeWatermarkedAsync(variable, stop.Token);
        string served;
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") })
        {
            var request = """{"model": "stories260K", "prompt": "Once upon a time", "temperature": 1, "seed": 7, "max_tokens": 24}""";
            using var response = await http.PostAsync("v1/completions", new StringContent(request, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            served = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
        }
        await stop.CancelAsync();
        var result = await run;
        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("green-list watermark (γ 0.25, δ 3, context 1)", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, result.Output + result.Error, StringComparison.Ordinal);

        using var bundle = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get(Stories));
        var sampling = new SamplingParameters { Temperature = 1, Seed = 7, MaxTokens = 24 };
        var prompt = bundle.EncodePrompt("Once upon a time");
        var marked = TextGenerator.Generate(bundle.InferenceWeights(), bundle.Tokenizer, prompt, sampling, new GreenListWatermark(secret, 0.25, 3.0));
        Assert.Equal(marked.Text, served);
        Assert.NotEqual(bundle.Generate(prompt, sampling).Text, served);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
