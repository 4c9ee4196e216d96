using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

// The KD ablation's report (issue 17), from the runs bench/kd-ablation/run.sh trained and scored:
//   report --in runs.tsv --png PATH      the table (mean ± sd over seeds, gain over SFT and share of white-box KD's gain) as
//                                        Markdown on stdout, and a plot of the gain over SFT by k
// runs.tsv rows: budget, row label, k (0 where none), family, seed, bits per byte, KL(T‖S), top-1 agreement, bytes stored
// per token, train seconds.
// Usage: dotnet run -c Release --project bench/KdAblation -- report --in runs.tsv --png OUT.png
var culture = CultureInfo.InvariantCulture;
if (args.Length < 5 || args[0] != "report" || args[1] != "--in" || args[3] != "--png")
{
    Console.Error.WriteLine("usage: KdAblation report --in runs.tsv --png OUT.png");
    return 2;
}
var runs = File.ReadLines(args[2]).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => Run.Parse(l.Split('\t'), culture)).ToList();
foreach (var budget in runs.Select(r => r.Budget).Distinct())
    Table(budget, runs.Where(r => r.Budget == budget).ToList());
Plot(runs, args[4]);
return 0;

void Table(string budget, List<Run> runs)
{
    var sft = Seeds(runs, "SFT");
    var full = Seeds(runs, "white-box KD (full)");
    var fullGain = Gain(sft, full);
    Console.WriteLine($"### Budget: {budget} teacher tokens\n");
    Console.WriteLine("| row | seeds | bits per byte | gain over SFT (per seed) | share of full KD's gain | KL(T‖S) | top-1 agreement | stored bytes / token | train s |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var label in runs.Select(r => r.Label).Distinct())
    {
        var rows = runs.Where(r => r.Label == label).OrderBy(r => r.Seed).ToList();
        var bpb = rows.Select(r => r.BitsPerByte).ToArray();
        var gain = Gain(sft, rows.ToDictionary(r => r.Seed, r => r.BitsPerByte));
        var share = fullGain.Mean != 0 && label != "SFT" ? string.Create(culture, $"{100 * gain.Mean / fullGain.Mean:F0}%") : "–";
        Console.WriteLine(string.Create(culture,
            $"| {label} | {rows.Count} | {Mean(bpb):F4} ± {Sd(bpb):F4} | {gain.Mean:+0.0000;-0.0000;0} ± {gain.Sd:F4} | {share} | {Mean(rows.Select(r => r.Kl).ToArray()):F3} ± {Sd(rows.Select(r => r.Kl).ToArray()):F3} | {100 * Mean(rows.Select(r => r.Agreement).ToArray()):F1}% | {rows[0].BytesPerToken:N0} | {Mean(rows.Select(r => r.TrainSeconds).ToArray()):F0} |"));
    }
    Console.WriteLine(string.Create(culture, $"\nFull white-box KD's gain over SFT: {fullGain.Mean:F4} ± {fullGain.Sd:F4} bits per byte ({(fullGain.Sd > 0 ? fullGain.Mean / fullGain.Sd : double.PositiveInfinity):F1} sd).\n"));
}

void Plot(List<Run> runs, string png)
{
    var plot = new ScottPlot.Plot();
    var budget = runs.Select(r => r.Budget).Last();
    var here = runs.Where(r => r.Budget == budget).ToList();
    var sft = Seeds(here, "SFT");
    var families = here.Where(r => r.K > 0).Select(r => r.Family).Distinct().ToList();
    ScottPlot.Color[] colors = [ScottPlot.Colors.SteelBlue, ScottPlot.Colors.Orange, ScottPlot.Colors.SeaGreen, ScottPlot.Colors.Purple, ScottPlot.Colors.Crimson];
    for (var f = 0; f < families.Count; f++)
    {
        var points = here.Where(r => r.Family == families[f]).GroupBy(r => r.K).OrderBy(g => g.Key)
            .Select(g => (K: (double)g.Key, Gain: Gain(sft, g.ToDictionary(r => r.Seed, r => r.BitsPerByte)))).ToList();
        var scatter = plot.Add.Scatter(points.Select(p => Math.Log2(p.K)).ToArray(), points.Select(p => p.Gain.Mean).ToArray(), colors[f % colors.Length]);
        scatter.LegendText = families[f];
        var bars = plot.Add.ErrorBar(points.Select(p => Math.Log2(p.K)).ToArray(), points.Select(p => p.Gain.Mean).ToArray(), points.Select(p => p.Gain.Sd).ToArray());
        bars.Color = colors[f % colors.Length];
    }
    var full = Gain(sft, Seeds(here, "white-box KD (full)"));
    var line = plot.Add.HorizontalLine(full.Mean, 2, ScottPlot.Colors.Black, ScottPlot.LinePattern.Dashed);
    line.LegendText = "white-box KD (full distribution)";
    plot.Add.HorizontalLine(0, 1, ScottPlot.Colors.Gray);
    var ks = here.Where(r => r.K > 0).Select(r => r.K).Distinct().Order().ToArray();
    plot.Axes.Bottom.SetTicks(ks.Select(k => Math.Log2(k)).ToArray(), ks.Select(k => k.ToString(culture)).ToArray());
    plot.Title($"Gain in held-out bits per byte over SFT, by k ({budget} teacher tokens; mean ± sd over seeds)");
    plot.XLabel("k: stored alternatives (top-k) or samples (random-sampling KD) per token");
    plot.YLabel("SFT bits per byte − row's (higher is better)");
    plot.ShowLegend(ScottPlot.Alignment.LowerRight);
    plot.SavePng(png, 1000, 600);
}

static Dictionary<int, double> Seeds(List<Run> runs, string label) => runs.Where(r => r.Label == label).ToDictionary(r => r.Seed, r => r.BitsPerByte);

// Per seed (same initialisation and data order): SFT's bits per byte minus the row's.
static (double Mean, double Sd) Gain(Dictionary<int, double> sft, Dictionary<int, double> row)
{
    var d = row.Where(kv => sft.ContainsKey(kv.Key)).Select(kv => sft[kv.Key] - kv.Value).ToArray();
    return d.Length == 0 ? (double.NaN, double.NaN) : (Mean(d), Sd(d));
}

static double Mean(double[] x) => x.Length == 0 ? double.NaN : x.Average();

static double Sd(double[] x)
{
    if (x.Length < 2) return 0;
    var m = x.Average();
    return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1));
}

/// <summary>One trained and scored student.</summary>
internal sealed record Run(string Budget, string Label, int K, string Family, int Seed, double BitsPerByte, double Kl, double Agreement, double BytesPerToken, double TrainSeconds)
{
    public static Run Parse(string[] f, IFormatProvider culture) => new(f[0], f[1], int.Parse(f[2], culture), f[3], int.Parse(f[4], culture),
        double.Parse(f[5], culture), double.Parse(f[6], culture), double.Parse(f[7], culture), double.Parse(f[8], culture), double.Parse(f[9], culture));
}
