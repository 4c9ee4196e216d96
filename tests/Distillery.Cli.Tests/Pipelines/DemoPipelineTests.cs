using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Evaluation;
using Distillery.Evaluation.Data;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Pipelines;

/// <summary>The README's main command at reduced size: every artefact must agree with the others.</summary>
[Trait("Speed", "Slow")]
public sealed class DemoPipelineTests : IDisposable
{
    private static readonly string[] Students = ["sft", "topk", "whitebox", "onpolicy"];
    private readonly ScratchFolder scratch = new("demo-test");

    private string _out => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private Task<CliResult> RunDemoAsync() =>
        Distill.RunAsync("demo", "--quick", "--out", _out, "--set", "steps=12", "--set", "eval_limit=8", "--set", "max_tokens=40");

    [Fact]
    public async Task Quick_demo_artefacts_agree_and_a_rerun_pays_the_teacher_nothing()
    {
        var run = await RunDemoAsync();
        Assert.True(run.ExitCode == 0, run.Error + run.Output[^Math.Min(3000, run.Output.Length)..]);

        // Dataset rows = prompts × samples (1), for both splits.
        var trainPrompts = File.ReadAllLines(Path.Combine(_out, "pipeline", "story-openings.txt")).Count(l => l.Length > 0);
        var heldoutPrompts = File.ReadAllLines(Path.Combine(_out, "pipeline", "story-openings-heldout.txt")).Count(l => l.Length > 0);
        Assert.Equal(32, trainPrompts);
        Assert.Equal(trainPrompts, (await DatasetReader.ReadAllRowsAsync(Path.Combine(_out, "data", "train"))).Count);
        Assert.Equal(heldoutPrompts, (await DatasetReader.ReadAllRowsAsync(Path.Combine(_out, "data", "heldout"))).Count);

        // The ledgers' counts match the server's: each request sent once, and the server answered exactly those.
        long sends = 0;
        foreach (var split in new[] { "train", "heldout" })
        {
            await using var ledger = await TeacherLedger.OpenAsync(Path.Combine(_out, "data", split, "ledger.db"));
            var entries = await ledger.ReadAllAsync();
            Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
            sends += entries.Sum(e => e.Sends);
        }
        Assert.Equal(trainPrompts + heldoutPrompts, sends);
        Assert.Equal(sends, long.Parse(Regex.Match(run.Output, @"Stopped after (\d+) completions").Groups[1].Value));

        // Every student beats an untrained model of its size on held-out cross-entropy.
        var heldout = await EvalDataLoader.LoadAsync(Path.Combine(_out, "data", "heldout"), 8);
        using var scores = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report", "scores.json")));
        var byName = scores.RootElement.GetProperty("Models").EnumerateArray().ToDictionary(m => m.GetProperty("Name").GetString()!, m => m.GetProperty("CrossEntropy").GetDouble());
        using var any = await ModelLoader.LoadAsync("checkpoint:" + Path.Combine(_out, "students", "sft"));
        using var untrained = ModelBundle.CreateRandom(await LlamaConfig.LoadAsync(Path.Combine(_out, "students", "sft", "config.json")), 1, any.Tokenizer, any.ChatTemplate);
        var untrainedCe = LanguageModelEvaluator.Evaluate("untrained", "student", untrained, null, heldout, new EvalOptions { LatencyTokens = 0 }).CrossEntropy!.Value;
        Assert.Equal(5, byName.Count); // the teacher and four students
        foreach (var (name, ce) in byName.Where(p => p.Key != "teacher"))
            Assert.True(ce < untrainedCe - 0.3, $"{name}: held-out CE {ce:F3} does not beat the untrained model's {untrainedCe:F3}");
        Assert.True(byName["teacher"] < byName.Where(p => p.Key != "teacher").Min(p => p.Value));

        // The exported GGUF loads in llama.cpp and decodes like Distillery.
        var gguf = Path.Combine(_out, "best-student.gguf");
        using (var llama = LlamaCppModel.Load(gguf))
        using (var ours = await ModelLoader.LoadAsync("gguf:" + gguf))
        {
            var prompt = ours.EncodePrompt("Once upon a time");
            var expected = ours.Generate(prompt, new Core.Chat.SamplingParameters { Temperature = 0, MaxTokens = 16 }).TokenIds;
            Assert.Equal(expected, llama.Greedy(prompt, expected.Count));
        }

        // The report names the teacher and its share of the training tokens.
        var report = await File.ReadAllTextAsync(Path.Combine(_out, "report", "report.md"));
        Assert.Contains("openai:stories260K", report);
        Assert.Contains("100.0%", report);
        foreach (var student in Students) Assert.True(File.Exists(Path.Combine(_out, "students", student, "model.safetensors")));

        // Running the demo again answers every prompt from the dataset and ledger: the server generates nothing.
        var rerun = await RunDemoAsync();
        Assert.True(rerun.ExitCode == 0, rerun.Error);
        Assert.Equal("0", Regex.Match(rerun.Output, @"Stopped after (\d+) completions").Groups[1].Value);
    }
}
