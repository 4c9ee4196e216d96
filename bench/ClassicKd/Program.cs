using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Distillery.Core.Datasets;
using Distillery.Models.Runtime;
using Distillery.TestSupport.Files;
using Distillery.Training.Classification;

// bench/ClassicKd: the Hinton et al. (2015) MNIST distillation experiment on MNIST (10k train) and Fashion-MNIST (60k),
// writing bench/results/classic-kd.md. Options: --datasets mnist,fashion-mnist --teacher-epochs N --student-epochs N
// (or --teacher-epochs-mnist N etc. per dataset) --temperature T --alpha A --lr X --teacher-lr X --jitter N --mirror true|false --dropout P --input-dropout P --teacher-wd W --train-limit N --out DIR --results FILE
var args_ = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) args_[args[i].TrimStart('-')] = args[i + 1];
string Arg(string name, string fallback) => args_.TryGetValue(name, out var v) ? v : fallback;
double Num(string name, double fallback) => double.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

TorchRuntime.EnsureLoaded();
var datasets = Arg("datasets", "mnist,fashion-mnist").Split(',');
var outRoot = Arg("out", Path.Combine(Path.GetTempPath(), "distillery-classic-kd", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
var results = Arg("results", Path.Combine(FindRepoRoot(), "bench", "results", "classic-kd.md"));
var reports = new List<(string Dataset, ClassicKdReport Report)>();
foreach (var dataset in datasets)
{
    var folder = dataset switch
    {
        "mnist" => SharedTestData.TryGet("mnist") ?? throw new InvalidOperationException("shared/data/mnist not found"),
        "fashion-mnist" => "/usr/share/datasets/fashion-mnist",
        _ => throw new ArgumentException($"unknown dataset {dataset}"),
    };
    var (train, test) = IdxImageFolder.Load(folder);
    var recipe = ClassicKdOptions.Recipe(ClassicDatasets.Parse(dataset), Path.Combine(outRoot, dataset));
    var options = recipe with
    {
        TeacherEpochs = (int)Num($"teacher-epochs-{dataset}", Num("teacher-epochs", recipe.TeacherEpochs)),
        StudentEpochs = (int)Num($"student-epochs-{dataset}", Num("student-epochs", recipe.StudentEpochs)),
        Temperature = Num("temperature", recipe.Temperature),
        Alpha = Num("alpha", recipe.Alpha),
        TeacherLearningRate = Num("teacher-lr", recipe.TeacherLearningRate),
        StudentLearningRate = Num("lr", recipe.StudentLearningRate),
        TeacherJitter = (int)Num("jitter", recipe.TeacherJitter),
        TeacherMirror = Arg("mirror", recipe.TeacherMirror ? "true" : "false") == "true",
        TeacherHiddenDropout = Num("dropout", recipe.TeacherHiddenDropout),
        TeacherInputDropout = Num("input-dropout", recipe.TeacherInputDropout),
        TeacherWeightDecay = Num("teacher-wd", recipe.TeacherWeightDecay),
        TrainLimit = args_.ContainsKey("train-limit") ? (int)Num("train-limit", 0) : null,
        Seed = (long)Num("seed", recipe.Seed),
    };
    var progress = new ConsoleProgress();
    var report = ClassicDistillation.Run(train, test, options, progress);
    Console.WriteLine();
    Console.WriteLine(Table(dataset, report));
    reports.Add((dataset, report));
    WriteResults(results, args, reports); // after each dataset, so a long run leaves what it finished
}

Console.WriteLine($"wrote {results}");

static void WriteResults(string results, string[] args, List<(string Dataset, ClassicKdReport Report)> reports)
{
    var md = new StringBuilder();
    md.AppendLine("# Classic KD (Hinton et al. 2015, §3) — bench/ClassicKd");
    md.AppendLine();
    md.AppendLine($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, libtorch {TorchSharp.torch.__version__} ({TorchSharp.torch.get_num_threads()} threads), fp32 matmul {MatmulBenchmark.MeasureGflops(seconds: 1.0):F1} GFLOP/s; load average at the end {LoadAverage()} (the machine was shared with other builds and tests, so the train times are pessimistic).");
    md.AppendLine($"Command: `dotnet run -c Release --project bench/ClassicKd -- {string.Join(' ', args)}`");
    md.AppendLine();
    md.AppendLine("The paper (60k MNIST): teacher 67 errors, baseline 146, distilled 74 → 91% of the gap closed. The share of the gap is the figure to compare.");
    foreach (var (dataset, report) in reports) { md.AppendLine(); md.AppendLine(Table(dataset, report)); }
    Directory.CreateDirectory(Path.GetDirectoryName(results)!);
    File.WriteAllText(results, md.ToString());
}

static string Table(string dataset, ClassicKdReport r)
{
    var sb = new StringBuilder();
    var o = r.Options;
    sb.AppendLine($"## {dataset}");
    sb.AppendLine();
    sb.AppendLine($"Data: {r.TrainCount:N0} training images from `{r.TrainSource}`, {r.TestCount:N0} test images from `{r.TestSource}`.");
    sb.AppendLine($"Settings: teacher {o.TeacherEpochs} epochs (lr {o.TeacherLearningRate:G3}), students {o.StudentEpochs} epochs (lr {o.StudentLearningRate:G3}), batch {o.BatchSize}, AdamW, warm-up + cosine, T = {o.Temperature:G3}, α = {o.Alpha:G3}, seed {o.Seed}.");
    sb.AppendLine();
    sb.AppendLine("| model | architecture | params | test errors | accuracy | train time |");
    sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
    foreach (var row in new[] { r.Teacher, r.Baseline, r.Distilled })
        sb.AppendLine($"| {row.Name} | {row.Architecture} | {row.Parameters:N0} | {row.TestErrors} | {row.Accuracy:P2} | {row.TrainSeconds:F0} s |");
    sb.AppendLine();
    sb.AppendLine($"Share of the baseline→teacher gap closed by distillation: **{(double.IsNaN(r.GapClosed) ? "n/a (teacher not better than baseline)" : r.GapClosed.ToString("P0", CultureInfo.InvariantCulture))}**. Wall time {r.WallTime.TotalMinutes:F1} min.");
    return sb.ToString();
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "n/a";

static string FindRepoRoot()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "Distillery.slnx"))) return d.FullName;
    return Directory.GetCurrentDirectory();
}

internal sealed class ConsoleProgress : IProgress<ClassicKdProgress>
{
    private DateTime last = DateTime.MinValue;

    public void Report(ClassicKdProgress value)
    {
        var t = value.Training;
        if (t.Step != t.MaxSteps && (DateTime.UtcNow - last).TotalSeconds < 10) return;
        last = DateTime.UtcNow;
        Console.WriteLine($"{value.Model,-9} step {t.Step,6}/{t.MaxSteps} loss {t.Loss:F4} lr {t.LearningRate:E2} {t.PositionsPerSecond,8:F0} ex/s elapsed {t.Elapsed:mm\\:ss} eta {t.Eta:mm\\:ss}");
    }
}
