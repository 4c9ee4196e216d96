using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Distillery.Core.Metrics;
using Distillery.Evaluation.Reports;
using Distillery.TestSupport.Files;

namespace Distillery.Evaluation.Tests.Reports;

public sealed class LossCurvePlotTests : IDisposable
{
    private readonly ScratchFolder scratch = new("loss-plot");

    private string dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void A_run_folder_with_metrics_gets_a_png_of_its_curves()
    {
        var lines = Enumerable.Range(1, 20).Select(s => new MetricsRecord { Step = s, Loss = 5.0 / s })
            .Append(new MetricsRecord { Step = 20, EvalLoss = 0.4 })
            .Select(r => JsonSerializer.Serialize(r));
        File.WriteAllLines(MetricsFile.PathIn(dir), [.. lines, "{\"step\": 21, \"loss\""]); // a line cut short by a kill

        Assert.Equal(21, MetricsFile.Read(MetricsFile.PathIn(dir)).Count);
        LossCurvePlot.WriteForRun(dir);

        var png = File.ReadAllBytes(Path.Combine(dir, LossCurvePlot.FileName));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Fact]
    public void A_folder_without_metrics_gets_no_plot()
    {
        LossCurvePlot.WriteForRun(dir);
        Assert.False(File.Exists(Path.Combine(dir, LossCurvePlot.FileName)));
    }
}
