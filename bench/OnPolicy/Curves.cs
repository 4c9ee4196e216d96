using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

/// <summary>
/// Both KLs of each mode against the teacher tokens it trained on (issue 16's plot). Each seed folder holds
/// <c>curves/rows.tsv</c> (one line per mode: label, folder name, training run, and the label of the row it started from or
/// "-"), and per mode <c>curves/FOLDER/scores.json</c>, the `distill eval` scores of that run's snapshots, named <c>step-N</c>.
/// A snapshot's teacher tokens are the run's <c>teacher_tokens</c> in metrics.jsonl summed through its step, plus, for a
/// warm start, all of its start's; so a warm-started line begins where its start's line ends. Writes a TSV of every point
/// and a PNG of two panels (KL(T‖S) and KL(S‖T) against teacher tokens, one line per mode, the mean over seeds).
/// </summary>
internal static class Curves
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static int Run(string png, string tsv, string[] seedFolders)
    {
        var points = seedFolders.SelectMany(Read).ToList();
        if (points.Count == 0)
        {
            Console.Error.WriteLine("no snapshot scores found under " + string.Join(", ", seedFolders.Select(f => Path.Combine(f, "curves"))));
            return 2;
        }
        File.WriteAllLines(tsv, ["seed\tmode\tstep\tteacher_tokens\tkl_teacher_student\tkl_student_teacher\tbits_per_byte\tagreement",
            .. points.Select(p => string.Create(Culture, $"{p.Seed}\t{p.Mode}\t{p.Step}\t{p.TeacherTokens}\t{p.Forward:F4}\t{p.Reverse:F4}\t{p.BitsPerByte:F4}\t{p.Agreement:F4}"))]);
        Plot(points, png);
        Console.WriteLine($"{points.Count} points of {points.Select(p => p.Mode).Distinct().Count()} modes over {points.Select(p => p.Seed).Distinct().Count()} seed(s): {tsv}, {png}");
        return 0;
    }

    /// <summary>One snapshot's scores and the teacher tokens its run had trained on.</summary>
    private sealed record Point(string Seed, string Mode, int Step, long TeacherTokens, double Forward, double Reverse, double BitsPerByte, double Agreement);

    /// <summary>The points of one seed folder; a warm-started mode's first point is its start's last (step 0: the same student).</summary>
    private static IEnumerable<Point> Read(string seedFolder)
    {
        var rowsFile = Path.Combine(seedFolder, "curves", "rows.tsv");
        if (!File.Exists(rowsFile)) yield break;
        var seed = Path.GetFileName(Path.TrimEndingDirectorySeparator(seedFolder));
        var last = new Dictionary<string, Point>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(rowsFile).Where(l => l.Length > 0))
        {
            var (label, folder, run, start) = line.Split('\t') is [var a, var b, var c, var d] ? (a, b, c, d) : throw new FormatException($"{rowsFile}: '{line}' is not label, folder, run, start");
            var scores = Path.Combine(seedFolder, "curves", folder, "scores.json");
            if (!File.Exists(scores)) continue;
            var cumulative = TeacherTokensByStep(run);
            var offset = 0L;
            var mine = new List<Point>();
            if (start != "-" && last.TryGetValue(start, out var origin))
            {
                offset = origin.TeacherTokens;
                mine.Add(origin with { Mode = label, Step = 0 });
            }
            foreach (var s in Student.Read(scores))
            {
                var step = int.Parse(s.Name["step-".Length..], Culture);
                mine.Add(new Point(seed, label, step, offset + cumulative.GetValueOrDefault(step), s.Forward, s.Reverse, s.BitsPerByte, s.Agreement));
            }
            mine.Sort((x, y) => x.Step.CompareTo(y.Step));
            if (mine.Count > 0) last[label] = mine[^1];
            foreach (var p in mine) yield return p;
        }
    }

    /// <summary>The teacher tokens a run had trained on through each step, from its metrics.jsonl.</summary>
    private static Dictionary<int, long> TeacherTokensByStep(string run)
    {
        var result = new Dictionary<int, long>();
        var total = 0L;
        foreach (var line in File.ReadLines(Path.Combine(run, "metrics.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("loss", out _)) continue;
            total += root.TryGetProperty("teacher_tokens", out var tokens) ? tokens.GetInt64() : root.GetProperty("positions").GetInt64();
            result[root.GetProperty("step").GetInt32()] = total;
        }
        return result;
    }

    private static void Plot(List<Point> points, string png)
    {
        const int width = 900, height = 600;
        var modes = points.Select(p => p.Mode).Distinct().ToList();
        ScottPlot.Color[] colors = [ScottPlot.Colors.Gray, ScottPlot.Colors.SteelBlue, ScottPlot.Colors.Orange, ScottPlot.Colors.SeaGreen,
            ScottPlot.Colors.Purple, ScottPlot.Colors.Crimson, ScottPlot.Colors.Olive];
        var seeds = points.Select(p => p.Seed).Distinct().Count();
        var panels = new[] { ("KL(T‖S) on the teacher's held-out text", (Func<Point, double>)(p => p.Forward)), ("KL(S‖T) on the student's own samples", p => p.Reverse) };
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(width * panels.Length, height));
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        for (var panel = 0; panel < panels.Length; panel++)
        {
            var (title, value) = panels[panel];
            var plot = new ScottPlot.Plot();
            for (var m = 0; m < modes.Count; m++)
            {
                // The mean over seeds at each step.
                var line = points.Where(p => p.Mode == modes[m]).GroupBy(p => p.Step).OrderBy(g => g.Key)
                    .Select(g => (X: g.Average(p => (double)p.TeacherTokens) / 1e6, Y: g.Average(value))).ToArray();
                var scatter = plot.Add.Scatter(line.Select(p => p.X).ToArray(), line.Select(p => p.Y).ToArray(), colors[m % colors.Length]);
                scatter.LegendText = modes[m];
            }
            plot.Title($"{title} ({(seeds == 1 ? "1 seed" : $"mean of {seeds} seeds")})");
            plot.XLabel("teacher tokens trained on (millions; warm starts include their SFT start's)");
            plot.YLabel(title + " (nats/token)");
            plot.ShowLegend(ScottPlot.Alignment.UpperRight);
            // Each panel is drawn on its own surface (a plot clears the canvas it renders on), then placed side by side.
            using var own = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(width, height));
            plot.Render(own.Canvas, width, height);
            using var drawn = own.Snapshot();
            surface.Canvas.DrawImage(drawn, panel * width, 0);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(png, data.ToArray());
    }
}
