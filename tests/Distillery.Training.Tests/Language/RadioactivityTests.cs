using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.TestSupport.Files;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Xunit.Abstractions;

namespace Distillery.Training.Tests.Language;

/// <summary>
/// Issue 19's radioactivity at test size: a tiny student trained by SFT on stories260K's samples, all of them drawn under a
/// green-list key, writes green tokens far more often than chance, and the radioactivity test on its own samples finds the key.
/// </summary>
[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class RadioactivityTests(ITestOutputHelper output) : IDisposable
{
    private readonly ScratchFolder scratch = new("radioactivity");

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task A_student_trained_on_watermarked_text_is_detected_and_a_wrong_key_is_not()
    {
        TorchRuntime.EnsureLoaded();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // δ 4 (the served default is 2) so that a student trained this briefly still shows it: most of the text is green.
        var key = new GreenListWatermark("teacher-key", gamma: 0.25, delta: 4.0);
        var data = await StoriesData.WriteAsync(Path.Combine(scratch.Path, "marked"), rows: 64, maxTokens: 48, topLogprobs: 0, seed: 5, watermark: key);
        output.WriteLine($"teacher samples: {clock.Elapsed.TotalSeconds:F1} s");
        var report = await LmTraining.RunAsync(new LmTrainingConfig
        {
            Data = data,
            Out = Path.Combine(scratch.Path, "student"),
            Mode = LmMode.Sft,
            StudentPreset = "tiny",
            Tokenizer = StoriesData.TokenizerPath,
            Steps = 160,
            BatchSize = 8,
            LearningRate = 1e-2,
            MinLearningRate = 1e-3,
            Warmup = 10,
            SeqLen = 64,
            EvalFraction = 0.1,
            EvalEvery = 0,
            CheckpointEvery = 0,
            Seed = 3,
        });
        output.WriteLine($"student: {clock.Elapsed.TotalSeconds:F1} s");

        using var student = await ModelLoader.LoadAsync("checkpoint:" + report.ModelDirectory);
        var samples = Enumerable.Range(0, 32)
            .Select(i => student.Generate(student.EncodePrompt(student.ChatTemplate.Apply([ChatMessage.User("")])), new SamplingParameters { Temperature = 1, MaxTokens = 48, Seed = i }).TokenIds)
            .ToList();
        var own = key.Score(samples);
        var wrong = new GreenListWatermark("another-key").Score(samples);
        output.WriteLine($"suspect: {own.Tokens} tokens, {own.Scored} pairs; own key green {own.GreenFraction:P1} (z {own.Z:F1}, p {own.P:E2}); wrong key {wrong.GreenFraction:P1} (z {wrong.Z:F1}); {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(own.P < 1e-3, $"own key: p {own.P}, green {own.GreenFraction:P1} of {own.Scored}");
        Assert.InRange(wrong.Z, -5, 5);

        // The same samples' top-20 logprobs: the green mass after each distinct context.
        var mass = new GreenMass(key);
        var wrongMass = new GreenMass(new GreenListWatermark("another-key"));
        foreach (var i in Enumerable.Range(0, 32))
        {
            var tokens = student.Generate(student.EncodePrompt(student.ChatTemplate.Apply([ChatMessage.User("")])), new SamplingParameters { Temperature = 1, MaxTokens = 48, Seed = i, TopLogprobs = 20 }).Logprobs;
            var ids = tokens.Select(t => t.Id!.Value).ToArray();
            for (var t = 0; t < ids.Length; t++)
                foreach (var m in new[] { mass, wrongMass }) m.Add(ids.AsSpan(0, t), tokens[t].TopLogprobs.Select(a => (a.Id!.Value, Math.Exp(a.Logprob))));
        }
        var ownMass = mass.Score(GreenMassWeighting.Mass);
        output.WriteLine($"logprobs: {ownMass.Contexts} contexts, own key z {ownMass.Z:F1}, wrong key z {wrongMass.Score(GreenMassWeighting.Mass).Z:F1}");
        Assert.True(ownMass.LogP < Math.Log(1e-3), $"own key: z {ownMass.Z}");
        Assert.InRange(wrongMass.Score(GreenMassWeighting.Mass).Z, -5, 5);
    }
}
