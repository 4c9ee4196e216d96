using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Distillery.Core.Statistics;

/// <summary>The validation's tables and plot from runs.tsv.</summary>
internal static class Report
{
    private const double Gamma = 0.25;
    private const double DetectLog10 = -3;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    private sealed record TrueRow(int Share, int Seed, int Prompts, long Tokens, long Scored, long Green, double Log10P)
    {
        public double Z => (Green - Gamma * Scored) / Math.Sqrt(Scored * Gamma * (1 - Gamma));
    }

    public static int Write(string input, string png)
    {
        var lines = File.ReadLines(input).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
        var truth = lines.Where(f => f[0] == "true").Select(f => new TrueRow(int.Parse(f[1], Culture), int.Parse(f[2], Culture), int.Parse(f[3], Culture),
            long.Parse(f[4], Culture), long.Parse(f[5], Culture), long.Parse(f[6], Culture), double.Parse(f[7], Culture))).ToList();
        var random = lines.Where(f => f[0] == "random").Select(f => Math.Pow(10, double.Parse(f[4], Culture))).ToList();
        var bpb = lines.Where(f => f[0] == "bpb").ToDictionary(f => f[1], f => f);
        Detection(truth);
        Calibration(truth, random);
        LogprobDetection(lines);
        WeightingDetection(lines);
        if (bpb.Count == 2)
        {
            double plain = double.Parse(bpb["0"][2], Culture), marked = double.Parse(bpb["1"][2], Culture);
            Console.WriteLine("### The teacher's cost of the watermark\n");
            Console.WriteLine($"stories260K on the TinyStories sample ({bpb["0"][3]} tokens, {bpb["0"][4]} bytes): {plain:F4} bits per byte plain, {marked:F4} with the watermark (γ 0.25, δ {(bpb["1"].Length > 5 ? bpb["1"][5] : "2")}, context 1): +{marked - plain:F4} ({100 * (marked - plain) / plain:F1}%).\n");
        }
        Plot(truth, png);
        return 0;
    }

    private static void Detection(List<TrueRow> truth)
    {
        Console.WriteLine("### Detection with the true key\n");
        Console.WriteLine("| watermarked share | seeds | detected at p < 1e-3 | median log10 p | median z | green fraction (chance 25%) | prompts × tokens | pairs scored | prompts needed (median; 25/50/100/200/all) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var share in truth.Select(t => t.Share).Distinct().OrderDescending())
        {
            var seeds = truth.Where(t => t.Share == share).GroupBy(t => t.Seed).ToList();
            var full = seeds.Select(g => g.MaxBy(t => t.Prompts)!).ToList();
            var detected = full.Count(t => t.Log10P < DetectLog10);
            var needed = seeds.Select(g => g.OrderBy(t => t.Prompts).FirstOrDefault(t => t.Log10P < DetectLog10)?.Prompts ?? int.MaxValue).ToList();
            var neededText = Median(needed.Select(n => (double)n)) is var m && m < int.MaxValue ? m.ToString("F0", Culture) : "not reached";
            Console.WriteLine(string.Create(Culture,
                $"| {share}% | {full.Count} | {detected}/{full.Count} | {Median(full.Select(t => t.Log10P)):F1} | {Median(full.Select(t => t.Z)):F1} | {100 * full.Sum(t => t.Green) / (double)full.Sum(t => t.Scored):F2}% | {full[0].Prompts} × ≤64 ({Median(full.Select(t => (double)t.Tokens)):F0} tokens) | {Median(full.Select(t => (double)t.Scored)):F0} | {neededText} |"));
        }
        Console.WriteLine();
    }

    private static void Calibration(List<TrueRow> truth, List<double> random)
    {
        Console.WriteLine("### Calibration\n");
        var clean = truth.Where(t => t.Share == 0).GroupBy(t => t.Seed).Select(g => g.MaxBy(t => t.Prompts)!).ToList();
        Console.WriteLine(string.Create(Culture, $"True key against the {clean.Count} students with no watermarked data: p-values {string.Join(", ", clean.Select(t => Math.Pow(10, t.Log10P).ToString("F3", Culture)))}; {clean.Count(t => t.Log10P < Math.Log10(0.05))} below 0.05, none may be below 1e-3 (found {clean.Count(t => t.Log10P < DetectLog10)}).\n"));
        if (random.Count == 0) return;
        var n = random.Count;
        var (d, p) = KolmogorovSmirnovUniform(random);
        var below = random.Count(x => x < 0.05);
        var bound = UpperBound(n, 0.05, 0.001);
        Console.WriteLine(string.Create(Culture, $"Random keys against the same students: {n} p-values. Kolmogorov–Smirnov against U(0, 1): D = {d:F4}, p = {p:F3}. "));
        Console.WriteLine(string.Create(Culture, $"False positives at α = 0.05: {below} of {n} ({100.0 * below / n:F1}%); the binomial bound (Binomial({n}, 0.05) exceeds {bound} with probability below 0.001) {(below <= bound ? "holds" : "is broken")}. At α = 0.01: {random.Count(x => x < 0.01)}; at 1e-3: {random.Count(x => x < 1e-3)}.\n"));
        Console.WriteLine("(The binomial tail is exact but discrete, so p-values are slightly conservative: P(p ≤ α) ≤ α.)\n");
    }

    /// <summary>The logprob test's table ("mass" and "mass-random" rows: the student's top-20 probabilities less the teacher's).</summary>
    private static void LogprobDetection(List<string[]> lines)
    {
        var mass = lines.Where(f => f[0] == "mass").Select(f => (Share: int.Parse(f[1], Culture), Seed: int.Parse(f[2], Culture), Prompts: int.Parse(f[3], Culture),
            Z: double.Parse(f[7], Culture), Log10P: double.Parse(f[8], Culture))).ToList();
        if (mass.Count == 0) return;
        Console.WriteLine("### Detection by logprob scoring (`--score logprobs --teacher-model`)\n");
        Console.WriteLine("| watermarked share | seeds | detected at p < 1e-3 | z (mean ± sd) | median log10 p | prompts needed (median; 25/50/100/200/all) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var share in mass.Select(t => t.Share).Distinct().OrderDescending())
        {
            var seeds = mass.Where(t => t.Share == share).GroupBy(t => t.Seed).ToList();
            var full = seeds.Select(g => g.MaxBy(t => t.Prompts)).ToList();
            var z = full.Select(t => t.Z).ToList();
            var mean = z.Average();
            var sd = z.Count > 1 ? Math.Sqrt(z.Sum(x => (x - mean) * (x - mean)) / (z.Count - 1)) : 0;
            var needed = Median(seeds.Select(g => (double)(g.OrderBy(t => t.Prompts).FirstOrDefault(t => t.Log10P < DetectLog10).Prompts is var n && n > 0 ? n : int.MaxValue)));
            Console.WriteLine(string.Create(Culture,
                $"| {share}% | {full.Count} | {full.Count(t => t.Log10P < DetectLog10)}/{full.Count} | {mean:F2} ± {sd:F2} | {Median(full.Select(t => t.Log10P)):F1} | {(needed < int.MaxValue ? needed.ToString("F0", Culture) : "not reached")} |"));
        }
        var random = lines.Where(f => f[0] == "mass-random").Select(f => Math.Pow(10, double.Parse(f[4], Culture))).ToList();
        if (random.Count > 0)
        {
            var (d, p) = KolmogorovSmirnovUniform(random);
            Console.WriteLine(string.Create(Culture, $"\nRandom keys (logprob test): {random.Count} p-values, {random.Count(x => x < 0.05)} below 0.05 ({100.0 * random.Count(x => x < 0.05) / random.Count:F1}%), Kolmogorov–Smirnov D = {d:F4}, p = {p:F3}."));
        }
        Console.WriteLine();
    }

    /// <summary>
    /// The logprob test under each way of combining contexts ("mass" rows at every prompt, "mass-weighting" and
    /// "mass-random-weighting" rows): detection per share, and calibration over random keys against the 0% students.
    /// </summary>
    private static void WeightingDetection(List<string[]> lines)
    {
        var full = lines.Where(f => f[0] == "mass").GroupBy(f => (f[1], f[2])).Select(g => g.MaxBy(f => int.Parse(f[3], Culture))!)
            .Select(f => (Weighting: "Mass", Share: int.Parse(f[1], Culture), Seed: int.Parse(f[2], Culture), Z: double.Parse(f[7], Culture)));
        var rows = full.Concat(lines.Where(f => f[0] == "mass-weighting").Select(f => (Weighting: f[3], Share: int.Parse(f[1], Culture), Seed: int.Parse(f[2], Culture), Z: double.Parse(f[4], Culture))))
            .OrderBy(r => r.Seed).ToList();
        if (!rows.Any(r => r.Weighting != "Mass")) return;
        var threshold = ZOfUpperTail(1e-3);
        Console.WriteLine("### The logprob test by how contexts are combined (`--weighting`)\n");
        Console.WriteLine(string.Create(Culture, $"Detected: z above {threshold:F2} (p < 1e-3). Calibration: random keys against the 0% students, p from the normal tail of z.\n"));
        Console.WriteLine("| weighting | watermarked share | seeds | detected at p < 1e-3 | z (mean ± sd) | z per seed (in seed order) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var weighting in rows.Select(r => r.Weighting).Distinct())
            foreach (var share in rows.Where(r => r.Weighting == weighting).Select(r => r.Share).Distinct().OrderDescending())
            {
                var z = rows.Where(r => r.Weighting == weighting && r.Share == share).Select(r => r.Z).ToList();
                var mean = z.Average();
                var sd = z.Count > 1 ? Math.Sqrt(z.Sum(x => (x - mean) * (x - mean)) / (z.Count - 1)) : 0;
                Console.WriteLine(string.Create(Culture, $"| {weighting} | {share}% | {z.Count} | {z.Count(x => x > threshold)}/{z.Count} | {mean:F2} ± {sd:F2} | {string.Join(", ", z.Select(x => x.ToString("F2", Culture)))} |"));
            }
        Console.WriteLine("\n| weighting | random-key p-values | below 0.05 | below 0.01 | below 1e-3 | KS D | KS p |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        var calibration = lines.Where(f => f[0] == "mass-random").Select(f => (Weighting: "Mass", P: Math.Pow(10, double.Parse(f[4], Culture))))
            .Concat(lines.Where(f => f[0] == "mass-random-weighting").Select(f => (Weighting: f[3], P: NormalTail.Upper(double.Parse(f[5], Culture)))));
        foreach (var group in calibration.GroupBy(c => c.Weighting))
        {
            var p = group.Select(c => c.P).ToList();
            var (d, ks) = KolmogorovSmirnovUniform(p);
            Console.WriteLine(string.Create(Culture, $"| {group.Key} | {p.Count} | {p.Count(x => x < 0.05)} (bound {UpperBound(p.Count, 0.05, 0.001)}) | {p.Count(x => x < 0.01)} | {p.Count(x => x < 1e-3)} | {d:F4} | {ks:F3} |"));
        }
        Console.WriteLine();
    }

    /// <summary>The z whose upper normal tail is <paramref name="p"/> (bisection).</summary>
    private static double ZOfUpperTail(double p)
    {
        double lo = -10, hi = 10;
        for (var i = 0; i < 100; i++)
        {
            var mid = (lo + hi) / 2;
            if (NormalTail.Upper(mid) > p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>The smallest c with P(X > c) below <paramref name="tail"/> for X ~ Binomial(n, p).</summary>
    private static int UpperBound(int n, double p, double tail)
    {
        var c = 0;
        while (BinomialTail.Upper(n, c + 1, p) >= tail) c++;
        return c;
    }

    /// <summary>D = sup |F_n(x) − x| and its asymptotic p-value (Kolmogorov's distribution with Stephens' small-sample correction).</summary>
    internal static (double D, double P) KolmogorovSmirnovUniform(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        double d = 0;
        for (var i = 0; i < n; i++) d = Math.Max(d, Math.Max((i + 1.0) / n - sorted[i], sorted[i] - (double)i / n));
        var lambda = (Math.Sqrt(n) + 0.12 + 0.11 / Math.Sqrt(n)) * d;
        double q = 0;
        for (var k = 1; k <= 100; k++) q += 2 * (k % 2 == 1 ? 1 : -1) * Math.Exp(-2 * k * k * lambda * lambda);
        return (d, Math.Clamp(q, 0, 1));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static void Plot(List<TrueRow> truth, string png)
    {
        var plot = new ScottPlot.Plot();
        ScottPlot.Color[] colors = [ScottPlot.Colors.Crimson, ScottPlot.Colors.Orange, ScottPlot.Colors.SteelBlue, ScottPlot.Colors.Gray];
        var shares = truth.Select(t => t.Share).Distinct().OrderDescending().ToList();
        for (var s = 0; s < shares.Count; s++)
        {
            var seeds = truth.Where(t => t.Share == shares[s]).GroupBy(t => t.Seed).ToList();
            for (var i = 0; i < seeds.Count; i++)
            {
                var points = seeds[i].OrderBy(t => t.Prompts).ToList();
                var line = plot.Add.Scatter(points.Select(t => (double)t.Tokens).ToArray(), points.Select(t => Math.Max(t.Log10P, -60)).ToArray(), colors[s % colors.Length]);
                if (i == 0) line.LegendText = $"{shares[s]}% watermarked";
            }
        }
        var threshold = plot.Add.HorizontalLine(DetectLog10, 2, ScottPlot.Colors.Black, ScottPlot.LinePattern.Dashed);
        threshold.LegendText = "p = 1e-3";
        plot.Axes.Bottom.Label.Text = "tokens read from the suspect (prompts × up to 64)";
        plot.Axes.Left.Label.Text = "log10 p (radioactivity test, clipped at -60)";
        plot.Title("Radioactivity of SFT students of a watermarked stories260K");
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        plot.SavePng(png, 1000, 600);
    }
}
