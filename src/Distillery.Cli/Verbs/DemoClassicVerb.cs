using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Evaluation.Reports;
using Distillery.Models.Runtime;
using Distillery.Training.Classification;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary>
/// <c>distill demo classic</c>: the MNIST result of Hinton et al. (2015, §3) with Distillery's trainer: a 2×1200 dropout
/// teacher, a 2×800 baseline on hard labels and a 2×800 student on soft targets, scored on the test set.
/// </summary>
public sealed class DemoClassicVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var dataset = new Option<string>("--dataset") { Description = "mnist or fashion-mnist", DefaultValueFactory = _ => "mnist" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs for each of the three models (default: the dataset's measured recipe; MNIST: teacher 50, students 100; Fashion-MNIST: teacher 100, students 60)" };
        var teacherEpochs = new Option<int?>("--teacher-epochs") { Description = "Epochs for the teacher (overrides --epochs)" };
        var studentEpochs = new Option<int?>("--student-epochs") { Description = "Epochs for the baseline and the distilled student (overrides --epochs)" };
        var temperature = new Option<double>("--temperature") { Description = "Soft-target temperature T", DefaultValueFactory = _ => 20 };
        var alpha = new Option<double>("--alpha") { Description = "Weight of the soft-target term; 1 − alpha goes to the hard labels", DefaultValueFactory = _ => 0.5 };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of IDX files to use instead of the dataset's default place" };
        var output = new Option<string?>("--output") { Description = "Folder for the three runs' checkpoints and metrics (default: ./distill-demo-classic/<dataset>); rerunning resumes" };
        var trainLimit = new Option<int?>("--train-limit") { Description = "Use only N training images, evenly spaced over the set" };
        var testLimit = new Option<int?>("--test-limit") { Description = "Use only N test images, evenly spaced over the set" };
        var seed = new Option<long>("--seed") { Description = "Seed for initialisation, shuffling, jitter and dropout", DefaultValueFactory = _ => 1 };
        var command = new Command("classic", "Reproduce Hinton et al. (2015): distil a 2x1200 dropout MLP into a 2x800 one on MNIST or Fashion-MNIST")
        {
            dataset, epochs, teacherEpochs, studentEpochs, temperature, alpha, dataDir, output, trainLimit, testLimit, seed,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(dataset)!, parse.GetValue(epochs), parse.GetValue(teacherEpochs), parse.GetValue(studentEpochs),
            parse.GetValue(temperature), parse.GetValue(alpha),
            parse.GetValue(dataDir), parse.GetValue(output), parse.GetValue(trainLimit), parse.GetValue(testLimit), parse.GetValue(seed), ct));
        return command;
    }

    private async Task<int> RunAsync(string datasetName, int? epochs, int? teacherEpochs, int? studentEpochs, double temperature, double alpha, string? dataDir, string? output,
        int? trainLimit, int? testLimit, long seed, CancellationToken cancellationToken)
    {
        var dataset = ClassicDatasets.Parse(datasetName);
        if (epochs is < 1 or > 10_000) throw InputException.InField("--epochs", "must be between 1 and 10000");
        if (teacherEpochs is < 1 or > 10_000) throw InputException.InField("--teacher-epochs", "must be between 1 and 10000");
        if (studentEpochs is < 1 or > 10_000) throw InputException.InField("--student-epochs", "must be between 1 and 10000");
        if (!(temperature > 0) || temperature > 1000) throw InputException.InField("--temperature", "must be above 0 and at most 1000");
        if (alpha is < 0 or > 1) throw InputException.InField("--alpha", "must lie between 0 and 1");
        if (trainLimit is < 1) throw InputException.InField("--train-limit", "must be at least 1");
        if (testLimit is < 1) throw InputException.InField("--test-limit", "must be at least 1");
        var name = ClassicDatasets.Name(dataset);
        var (train, test) = IdxImageFolder.Load(ClassicDatasets.Locate(dataset, dataDir, SharedData.TryGet("mnist")));
        TorchRuntime.EnsureLoaded();
        var recipe = ClassicKdOptions.Recipe(dataset, output ?? Path.Combine("distill-demo-classic", name));
        var options = recipe with
        {
            TeacherEpochs = teacherEpochs ?? epochs ?? recipe.TeacherEpochs,
            StudentEpochs = studentEpochs ?? epochs ?? recipe.StudentEpochs,
            Temperature = temperature,
            Alpha = alpha,
            TrainLimit = trainLimit,
            TestLimit = testLimit,
            Seed = seed,
        };

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.Cancellation);
        ClassicKdReport? report = null;
        await context.Console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new System.Collections.Generic.Dictionary<string, ProgressTask>
                {
                    ["teacher"] = ctx.AddTask("teacher", maxValue: 1),
                    ["baseline"] = ctx.AddTask("baseline", maxValue: 1),
                    ["distilled"] = ctx.AddTask("distilled", maxValue: 1),
                };
                var progress = new Progress(tasks);
                report = await Task.Factory.StartNew(() => ClassicDistillation.Run(train, test, options, progress, linked.Token),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            });
        foreach (var run in new[] { report!.Teacher, report.Baseline, report.Distilled })
            LossCurvePlot.WriteForRun(Path.Combine(options.OutputDirectory, run.Name));
        Print(report, name);
        return ExitCodes.Ok;
    }

    private void Print(ClassicKdReport report, string dataset)
    {
        var table = new Table().Title($"Classic distillation on {dataset}")
            .AddColumn("model").AddColumn("architecture").AddColumn(new TableColumn("params").RightAligned())
            .AddColumn(new TableColumn("test errors").RightAligned()).AddColumn(new TableColumn("accuracy").RightAligned())
            .AddColumn(new TableColumn("train time").RightAligned());
        foreach (var row in new[] { report.Teacher, report.Baseline, report.Distilled })
            table.AddRow(row.Name, Markup.Escape(row.Architecture), row.Parameters.ToString("N0", CultureInfo.InvariantCulture),
                row.TestErrors.ToString(CultureInfo.InvariantCulture), row.Accuracy.ToString("P2", CultureInfo.InvariantCulture), $"{row.TrainSeconds:F0} s");
        context.Console.Write(table);
        var gap = double.IsNaN(report.GapClosed) ? "n/a (the teacher is not better than the baseline)" : report.GapClosed.ToString("P0", CultureInfo.InvariantCulture);
        context.Console.MarkupLine($"Share of the baseline→teacher gap closed by distillation: [bold]{Markup.Escape(gap)}[/] (the paper: 91% on MNIST)");
        context.Console.MarkupLine(Markup.Escape($"Data: {report.TrainCount:N0} training images from {report.TrainSource}; {report.TestCount:N0} test images from {report.TestSource}."));
        if (dataset == "mnist" && report.TrainCount < 60_000)
            context.Console.MarkupLine(Markup.Escape($"MNIST here has {report.TrainCount:N0} of the paper's 60,000 training images, so absolute errors are higher than the paper's; compare the share of the gap."));
        context.Console.MarkupLine(Markup.Escape($"Wall time {report.WallTime.TotalMinutes:F1} min; checkpoints and metrics in {Path.GetFullPath(report.Options.OutputDirectory)}."));
    }

    private sealed class Progress(System.Collections.Generic.IReadOnlyDictionary<string, ProgressTask> tasks) : IProgress<ClassicKdProgress>
    {
        public void Report(ClassicKdProgress value)
        {
            var task = tasks[value.Model];
            var t = value.Training;
            task.MaxValue = t.MaxSteps;
            task.Value = t.Step;
            task.Description = $"{value.Model,-9} step {t.Step}/{t.MaxSteps} loss {t.Loss:F3} {t.PositionsPerSecond:F0} img/s";
        }
    }
}
