using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Metrics;

namespace Distillery.Evaluation.Reports;

/// <summary>Draws training and held-out loss against the step into a PNG (ScottPlot).</summary>
public static class LossCurvePlot
{
    /// <summary>The plot's file name beside metrics.jsonl.</summary>
    public const string FileName = "loss_curves.png";

    /// <summary>Draws a run folder's metrics.jsonl into its loss_curves.png; nothing when there is nothing to draw.</summary>
    public static void WriteForRun(string runDirectory) =>
        Write(MetricsFile.Read(MetricsFile.PathIn(runDirectory)), System.IO.Path.Combine(runDirectory, FileName));

    /// <summary>Writes the loss curves of <paramref name="records"/> to <paramref name="path"/>; nothing when there is nothing to draw.</summary>
    public static void Write(IReadOnlyList<MetricsRecord> records, string path, string title = "loss")
    {
        var train = records.Where(r => r.Loss is { } l && double.IsFinite(l)).ToList();
        var eval = records.Where(r => r.EvalLoss is { } l && double.IsFinite(l)).ToList();
        if (train.Count == 0 && eval.Count == 0) return;
        var plot = new ScottPlot.Plot();
        if (train.Count > 0)
        {
            var line = plot.Add.ScatterLine(train.Select(r => (double)r.Step).ToArray(), train.Select(r => r.Loss!.Value).ToArray());
            line.LegendText = "train";
        }
        if (eval.Count > 0)
        {
            var points = plot.Add.Scatter(eval.Select(r => (double)r.Step).ToArray(), eval.Select(r => r.EvalLoss!.Value).ToArray());
            points.LegendText = "held-out";
            points.MarkerSize = 6;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        plot.SavePng(path, 900, 540);
    }
}
