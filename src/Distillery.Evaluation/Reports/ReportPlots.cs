using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Distillery.Core.Metrics;

namespace Distillery.Evaluation.Reports;

/// <summary>The report's PNG plots: training loss curves, and quality against size and against speed.</summary>
public static class ReportPlots
{
    /// <summary>Overlays each model's training loss (and held-out loss) from its metrics.jsonl; false when no model has one.</summary>
    public static bool LossCurves(IReadOnlyList<ModelScore> models, string path)
    {
        var plot = new ScottPlot.Plot();
        var drawn = 0;
        foreach (var model in models.Where(m => m.MetricsFile is not null && File.Exists(m.MetricsFile)))
        {
            var (steps, losses, evalSteps, evalLosses) = ReadMetrics(model.MetricsFile!);
            if (steps.Count > 0)
            {
                var line = plot.Add.ScatterLine(steps.ToArray(), Smooth(losses, 5).ToArray());
                line.LegendText = model.Name + " (train)";
                line.LineWidth = 2;
                drawn++;
            }
            if (evalSteps.Count > 0)
            {
                var points = plot.Add.Scatter(evalSteps.ToArray(), evalLosses.ToArray());
                points.LegendText = model.Name + " (held-out)";
                points.MarkerSize = 7;
                points.LinePattern = ScottPlot.LinePattern.Dashed;
            }
        }
        if (drawn == 0) return false;
        plot.Title("Training loss (5-step moving average)");
        plot.XLabel("optimiser step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 1000, 600);
        return true;
    }

    /// <summary>Held-out quality (KL to the teacher where every student shares its vocabulary, else bits per byte) against parameter count; false when nothing to draw.</summary>
    public static bool QualityVersusSize(IReadOnlyList<ModelScore> models, string path) =>
        QualityAgainst(models, path, m => m.Parameters > 0 ? m.Parameters / 1e6 : null, "parameters (millions)", "Quality against size");

    /// <summary>Held-out quality against greedy decoding latency; false when nothing to draw.</summary>
    public static bool QualityVersusSpeed(IReadOnlyList<ModelScore> models, string path) =>
        QualityAgainst(models, path, m => m.MsPerToken, "ms per token (greedy, one stream)", "Quality against speed");

    private static bool QualityAgainst(IReadOnlyList<ModelScore> models, string path, System.Func<ModelScore, double?> x, string xLabel, string title)
    {
        // Per-token figures only where every student shares the teacher's vocabulary; otherwise bits per byte, which compare
        // across tokenizers (cross-entropy per token only for reports made before bits per byte existed).
        var students = models.Where(m => m.Role != "teacher").ToList();
        var useKl = students.Count > 0 && students.All(m => m.KlToTeacher is not null);
        var useBytes = !useKl && models.Any(m => m.BitsPerByte is not null);
        string yLabel = useKl ? "KL(teacher ‖ model) per token (lower is better)" : useBytes ? "bits per byte (lower is better)" : "cross-entropy per token (lower is better)";
        // The teacher's KL to itself is 0 by definition, which puts it on the plot as the target.
        var points = models.Select(m => (m, X: x(m), Y: useKl ? (m.Role == "teacher" ? 0 : m.KlToTeacher) : useBytes ? m.BitsPerByte : m.CrossEntropy)).Where(p => p.X is not null && p.Y is not null).ToList();
        if (points.Count == 0) return false;
        var plot = new ScottPlot.Plot();
        foreach (var (model, px, py) in points)
        {
            var marker = plot.Add.Marker(px!.Value, py!.Value);
            marker.Size = 12;
            marker.LegendText = model.Name;
            var label = plot.Add.Text(model.Name, px.Value, py.Value);
            label.LabelFontSize = 12;
            label.OffsetY = -10;
        }
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        var maxX = points.Max(p => p.X!.Value);
        var maxY = points.Max(p => p.Y!.Value);
        var minY = points.Min(p => p.Y!.Value);
        plot.Axes.SetLimits(0, maxX * 1.25, useKl ? -0.05 * maxY : minY * 0.9, maxY * 1.15);
        plot.SavePng(path, 1000, 600);
        return true;
    }

    private static (List<double> Steps, List<double> Losses, List<double> EvalSteps, List<double> EvalLosses) ReadMetrics(string path)
    {
        var records = MetricsFile.Read(path);
        var train = records.Where(r => r.Loss is not null).ToList();
        var eval = records.Where(r => r.EvalLoss is not null).ToList();
        return ([.. train.Select(r => (double)r.Step)], [.. train.Select(r => r.Loss!.Value)], [.. eval.Select(r => (double)r.Step)], [.. eval.Select(r => r.EvalLoss!.Value)]);
    }

    private static IEnumerable<double> Smooth(IReadOnlyList<double> values, int window)
    {
        for (int i = 0; i < values.Count; i++)
        {
            var from = System.Math.Max(0, i - window + 1);
            yield return values.Skip(from).Take(i - from + 1).Average();
        }
    }

    internal static string Format(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
