using System;
using System.IO;
using Distillery.Core.Datasets;
using Distillery.TestSupport.Files;
using Distillery.Training.Classification;

namespace Distillery.Training.Tests.Classification;

[Trait("Speed", "Slow")]
public sealed class ClassicDistillationTests : IDisposable
{
    private readonly ScratchFolder scratch = new("classic-kd-tests");

    private string root => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void ReducedScalePipelineTrainsAllThreeModelsFarAboveChance()
    {
        var (train, test) = IdxImageFolder.Load(ClassicDatasets.Locate(ClassicDataset.Mnist, mnistDefault: SharedTestData.TryGet("mnist")));
        var options = new ClassicKdOptions
        {
            OutputDirectory = root,
            TeacherEpochs = 2,
            StudentEpochs = 2,
            BatchSize = 50,
            TrainLimit = 2000,
            TestLimit = 2000,
            Seed = 3,
        };
        var report = ClassicDistillation.Run(train, test, options);

        Assert.Equal(2000, report.TrainCount);
        Assert.Equal(2000, report.TestCount);
        // The paper's nets: 784-1200-1200-10 and 784-800-800-10.
        Assert.Equal(784L * 1200 + 1200 + 1200L * 1200 + 1200 + 1200L * 10 + 10, report.Teacher.Parameters);
        Assert.Equal(784L * 800 + 800 + 800L * 800 + 800 + 800L * 10 + 10, report.Distilled.Parameters);
        foreach (var row in new[] { report.Teacher, report.Baseline, report.Distilled })
            Assert.True(row.Accuracy > 0.80, $"{row.Name}: accuracy {row.Accuracy:P1} is not far above chance (10%)");
        // The share of the gap closed is defined exactly when the teacher beats the baseline, and then gives back the distilled errors.
        if (report.Teacher.TestErrors < report.Baseline.TestErrors)
            Assert.Equal(report.Distilled.TestErrors,
                report.Baseline.TestErrors - report.GapClosed * (report.Baseline.TestErrors - report.Teacher.TestErrors), precision: 9);
        else
            Assert.True(double.IsNaN(report.GapClosed), $"teacher {report.Teacher.TestErrors} errors, baseline {report.Baseline.TestErrors}: gap closed {report.GapClosed}");
        // Each model left a finished, resumable run behind.
        foreach (var name in new[] { "teacher", "baseline", "distilled" })
            Assert.True(File.Exists(Path.Combine(root, name, "metrics.jsonl")));
    }
}
