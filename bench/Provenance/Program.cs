using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Prompts;
using Distillery.Core.Specs;
using Distillery.Core.Statistics;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Local;
using Distillery.Teachers.Provenance;
using static TorchSharp.torch;

// Issue 19's validation (bench/provenance/run.sh runs it):
//   score --share S --seed N --model SPEC --prompts FILE --max-tokens N --key-env VAR --random-keys K
//       asks the student every prompt (temperature 1, seed 0 + i) through the same LocalTeacher and PromptRunner as
//       `distill provenance`, and writes TSV rows: "true" (share, seed, prompts used, tokens read, pairs scored, green,
//       log10 p) after 25, 50, 100, 200 and all prompts under the true key; "repeated" (share, seed, m, tokens, pairs, green,
//       log10 p) over only the pairs written at least m = 2, 3, 5 times; "random" and "random-repeated" (m = 2) (share, seed, key index, log10 p) for K
//       random keys over all prompts.
//   teacher-bpb --model SPEC --text FILE --key-env VAR [--delta D]
//       the teacher's bits per byte on the text's lines, plain and under the watermark (δ D, default 2): rows "bpb" (watermarked 0|1, bits per
//       byte, tokens, bytes, δ).
//   report --in runs.tsv --png OUT     Markdown tables on stdout and the plot.
//   blackbox-plot --in plot.tsv --png OUT     the plot of bench/provenance-blackbox/run.sh (agreement test, log10 p by prompts).
var culture = CultureInfo.InvariantCulture;
var options = new Dictionary<string, string>();
for (var i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
return args.FirstOrDefault() switch
{
    "score" => await Score(),
    "mass" => await Mass(),
    "teacher-bpb" => await TeacherBitsPerByte(),
    "report" => Report.Write(options["in"], options["png"]),
    "blackbox-plot" => BlackboxPlot.Write(options["in"], options["png"]),
    _ => Usage(),
};

int Usage()
{
    Console.Error.WriteLine("usage: Provenance score|teacher-bpb|report [options] (see Program.cs)");
    return 2;
}

// The key from the environment; --delta (default 2, what `distill serve` uses) only matters to teacher-bpb, which samples.
GreenListWatermark Key(string variable) => new(
    Environment.GetEnvironmentVariable(variable) ?? throw new InvalidOperationException($"{variable} is not set"),
    delta: options.TryGetValue("delta", out var delta) ? double.Parse(delta, culture) : 2.0);

async Task<int> Score()
{
    var key = Key(options["key-env"]);
    var prompts = await PromptFile.ReadAsync(options["prompts"]);
    using var student = await LocalTeacher.LoadAsync(ModelSpec.Parse(options["model"], "--model"), ChatTemplateChoice.None);
    var sampling = new SamplingParameters { Temperature = 1, MaxTokens = int.Parse(options["max-tokens"], culture), TopLogprobs = 0, Seed = 0 };
    var started = DateTime.UtcNow;
    var answers = await PromptRunner.RunAsync(student, prompts, sampling, new Progress<int>(done =>
    {
        if (done % 100 == 0) Console.Error.WriteLine(string.Create(culture, $"{done}/{prompts.Prompts.Count} prompts, {done / (DateTime.UtcNow - started).TotalSeconds:F1}/s"));
    }));
    var ids = answers.Select(a => RadioactivityTest.IdsOf(a, null)).ToList();
    string share = options["share"], seed = options["seed"];
    foreach (var n in new[] { 25, 50, 100, 200, ids.Count }.Where(n => n <= ids.Count).Distinct())
    {
        var s = key.Score(ids.Take(n));
        Console.WriteLine(string.Create(culture, $"true\t{share}\t{seed}\t{n}\t{s.Tokens}\t{s.Scored}\t{s.Green}\t{Log10P(s):F4}"));
    }
    // Only the pairs the student wrote at least m times (every prompt): its most practised pairs.
    foreach (var m in new[] { 2, 3, 5 })
    {
        var s = key.Score(ids, m);
        Console.WriteLine(string.Create(culture, $"repeated\t{share}\t{seed}\t{m}\t{s.Tokens}\t{s.Scored}\t{s.Green}\t{Log10P(s):F4}"));
    }
    var randomKeys = int.Parse(options["random-keys"], culture);
    for (var k = 0; k < randomKeys; k++)
    {
        var randomKey = new GreenListWatermark($"random-key-{share}-{seed}-{k}");
        Console.WriteLine(string.Create(culture, $"random\t{share}\t{seed}\t{k}\t{Log10P(randomKey.Score(ids)):F6}"));
        Console.WriteLine(string.Create(culture, $"random-repeated\t{share}\t{seed}\t{k}\t{Log10P(randomKey.Score(ids, 2)):F6}"));
    }
    return 0;
}

// The green-mass test (GreenMass) on the student's own answers with their top-20 logprobs: "mass" rows (share, seed, prompts,
// positions, contexts, green share, z, log10 p) after 25, 50, 100, 200 and all prompts under the true key, then
// "mass-random" rows (share, seed, key index, log10 p) for K random keys over all prompts.
async Task<int> Mass()
{
    var key = Key(options["key-env"]);
    var prompts = await PromptFile.ReadAsync(options["prompts"]);
    using var student = await LocalTeacher.LoadAsync(ModelSpec.Parse(options["model"], "--model"), ChatTemplateChoice.None);
    var sampling = new SamplingParameters { Temperature = 1, MaxTokens = int.Parse(options["max-tokens"], culture), TopLogprobs = 20, Seed = 0 };
    var answers = await PromptRunner.RunAsync(student, prompts, sampling, new Progress<int>(_ => { }));
    string share = options["share"], seed = options["seed"];
    // With --reference (the watermarked teacher's own unwatermarked model), each weight is the suspect's probability less the
    // reference's: what the suspect learned beyond the teacher, which the key cannot have shaped under H0.
    List<float[][]>? reference = null;
    if (options.TryGetValue("reference", out var referenceSpec))
    {
        using var teacher = await UnmarkedTeacher.LoadAsync(referenceSpec, null, null);
        reference = [.. answers.Select((answer, i) => teacher.Probabilities(prompts.Prompts[i].Messages, [.. answer.Tokens.Select(t => t.Id!.Value)]))];
    }
    GreenMass MassOf(int count)
    {
        var mass = new GreenMass(key);
        for (var a = 0; a < count; a++)
        {
            var answer = answers[a];
            var ids = answer.Tokens.Select(t => t.Id!.Value).ToArray();
            for (var t = 0; t < ids.Length; t++)
                mass.Add(ids.AsSpan(0, t), answer.Tokens[t].TopLogprobs.Select(x => (x.Id!.Value, Math.Exp(x.Logprob) - (reference?[a][t][x.Id!.Value] ?? 0))));
        }
        return mass;
    }
    foreach (var n in new[] { 25, 50, 100, 200, answers.Count }.Where(n => n <= answers.Count).Distinct())
    {
        var s = MassOf(n).Score(GreenMassWeighting.Mass);
        Console.WriteLine(string.Create(culture, $"mass\t{share}\t{seed}\t{n}\t{s.Positions}\t{s.Contexts}\t{s.GreenShare:F4}\t{s.Z:F3}\t{s.LogP / Math.Log(10):F4}"));
    }
    // The other ways to combine contexts (GreenMassWeighting), over every prompt: "mass-weighting" rows (share, seed, weighting, z).
    var all = MassOf(answers.Count);
    GreenMassWeighting[] others = [GreenMassWeighting.Context, GreenMassWeighting.InverseVariance];
    foreach (var weighting in others)
        Console.WriteLine(string.Create(culture, $"mass-weighting\t{share}\t{seed}\t{weighting}\t{all.Score(weighting).Z:F3}"));
    var randomKeys = int.Parse(options["random-keys"], culture);
    for (var k = 0; k < randomKeys; k++)
    {
        var random = all.Under(new GreenListWatermark($"random-key-{share}-{seed}-{k}"));
        Console.WriteLine(string.Create(culture, $"mass-random\t{share}\t{seed}\t{k}\t{random.Score(GreenMassWeighting.Mass).LogP / Math.Log(10):F6}"));
        foreach (var weighting in others)
            Console.WriteLine(string.Create(culture, $"mass-random-weighting\t{share}\t{seed}\t{weighting}\t{k}\t{random.Score(weighting).Z:F3}"));
    }
    return 0;
}

static double Log10P(WatermarkScore s) => BinomialTail.LogUpper(s.Scored, s.Green, s.Gamma) / Math.Log(10);

async Task<int> TeacherBitsPerByte()
{
    var key = Key(options["key-env"]);
    TorchRuntime.EnsureLoaded();
    using var bundle = await ModelLoader.LoadAsync(options["model"]);
    double[] bits = [0, 0];
    long tokens = 0, bytes = 0;
    using var inference = inference_mode();
    foreach (var line in File.ReadLines(options["text"]).Where(l => l.Trim().Length > 0))
    {
        using var scope = NewDisposeScope();
        var ids = bundle.EncodePrompt(line).Take(bundle.Config.MaxPositionEmbeddings).ToArray();
        var logits = bundle.Model.Forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length])).Logits[0].log_softmax(-1).to(ScalarType.Float32).cpu().data<float>().ToArray(); // (T·V)
        var vocab = bundle.Config.VocabSize;
        for (var t = 0; t + 1 < ids.Length; t++)
        {
            var row = logits.AsSpan(t * vocab, vocab);
            bits[0] -= row[ids[t + 1]] / Math.Log(2);
            key.Apply(row, ids.AsSpan(0, t + 1)); // the distribution the watermarked server samples from
            bits[1] -= row[ids[t + 1]] / Math.Log(2);
            tokens++;
            bytes += bundle.Tokenizer.TokenBytes(ids[t + 1]).Length;
        }
    }
    for (var w = 0; w < 2; w++) Console.WriteLine(string.Create(culture, $"bpb\t{w}\t{bits[w] / bytes:F5}\t{tokens}\t{bytes}\t{key.Delta}"));
    return 0;
}
