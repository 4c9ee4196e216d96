using System;
using System.Globalization;
using System.IO;
using System.Linq;

/// <summary>The black-box half's plot (bench/provenance-blackbox/run.sh): log10 p of the agreement test against probe prompts, one line per student.</summary>
internal static class BlackboxPlot
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    /// <summary>Reads plot.tsv rows (group, seed, prompts, log10 p with parent A, log10 p with parent B) and writes the PNG.</summary>
    public static int Write(string input, string png)
    {
        var rows = File.ReadLines(input).Where(l => l.Length > 0).Select(l => l.Split('\t'))
            .Select(f => (Group: f[0], Seed: f[1], Prompts: double.Parse(f[2], Culture), A: double.Parse(f[3], Culture), B: double.Parse(f[4], Culture))).ToList();
        var plot = new ScottPlot.Plot();
        var labelled = new System.Collections.Generic.HashSet<string>();
        foreach (var student in rows.GroupBy(r => (r.Group, r.Seed)))
        {
            var parent = student.Key.Group[0]; // A-…, B-… from that teacher; rawA-… the controls, shown against parent A
            var fromB = parent == 'B';
            var points = student.OrderBy(r => r.Prompts).ToList();
            var color = student.Key.Group.StartsWith("raw", StringComparison.Ordinal) ? ScottPlot.Colors.Gray : fromB ? ScottPlot.Colors.Orange : ScottPlot.Colors.SteelBlue;
            var line = plot.Add.Scatter(points.Select(r => r.Prompts).ToArray(), points.Select(r => Math.Max(fromB ? r.B : r.A, -30)).ToArray(), color);
            if (student.Key.Group.EndsWith("topk", StringComparison.Ordinal)) line.LinePattern = ScottPlot.LinePattern.Dashed;
            var label = student.Key.Group.StartsWith("raw", StringComparison.Ordinal) ? "raw half-A text (no teacher), tested for A" : $"{student.Key.Group[2..]} student of {parent}, tested for {parent}";
            if (labelled.Add(label)) line.LegendText = label;
        }
        var threshold = plot.Add.HorizontalLine(-2, 2, ScottPlot.Colors.Black, ScottPlot.LinePattern.Dotted);
        threshold.LegendText = "p = 0.01";
        plot.Axes.Bottom.Label.Text = "probe prompts (greedy, each asked of suspect, parent and reference)";
        plot.Axes.Left.Label.Text = "log10 p, agreement test for the true parent (clipped at -30)";
        plot.Title("Black-box provenance: students of two tinyshakespeare teachers");
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        plot.SavePng(png, 1000, 600);
        return 0;
    }
}
