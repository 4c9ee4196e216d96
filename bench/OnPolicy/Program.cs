using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;

// The on-policy benchmark's report (issue 16), from the `distill eval` scores bench/on-policy/run.sh wrote, one per seed:
//   report --png PATH SCORES.json...    the table (mean ± sd over seeds of KL(T‖S) on the teacher's text, the sample-level
//                                       KL(S‖T) on the student's own samples, bits per byte, top-1 agreement) as Markdown
//                                       on stdout, and a plot of the two KL directions against each other
//   curves --png PATH --tsv PATH SEED_DIR...   both KLs of each mode's snapshots against the teacher tokens trained on
//                                       (see Curves.cs)
// Usage: dotnet run -c Release --project bench/OnPolicy -- report --png OUT.png seed1/scores.json seed2/scores.json ...
var culture = CultureInfo.InvariantCulture;
if (args.Length >= 6 && args[0] == "curves" && args[1] == "--png" && args[3] == "--tsv")
    return Curves.Run(args[2], args[4], args[5..]);
if (args.Length < 4 || args[0] != "report" || args[1] != "--png")
{
    Console.Error.WriteLine("usage: OnPolicy report --png OUT.png SCORES.json... | OnPolicy curves --png OUT.png --tsv OUT.tsv SEED_DIR...");
    return 2;
}
var students = args[3..].SelectMany(Student.Read).GroupBy(s => s.Name).ToList();
Console.WriteLine("| student | seeds | KL(T‖S) on the teacher's text | KL(S‖T) on its own samples | bits per byte | top-1 agreement (%) |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
foreach (var g in students)
    Console.WriteLine(string.Create(culture,
        $"| {g.Key} | {g.Count()} | {Cell(g, s => s.Forward)} | {Cell(g, s => s.Reverse)} | {Cell(g, s => s.BitsPerByte)} | {Cell(g, s => 100 * s.Agreement, "F1")} |"));
Plot(students, args[2]);
return 0;

string Cell(IEnumerable<Student> rows, Func<Student, double> value, string format = "F3")
{
    var x = rows.Select(value).ToArray();
    return string.Create(culture, $"{x.Average().ToString(format, culture)} ± {Sd(x).ToString(format, culture)}");
}

void Plot(List<IGrouping<string, Student>> groups, string png)
{
    var plot = new ScottPlot.Plot();
    ScottPlot.Color[] colors = [ScottPlot.Colors.Gray, ScottPlot.Colors.SteelBlue, ScottPlot.Colors.Orange, ScottPlot.Colors.SeaGreen,
        ScottPlot.Colors.Purple, ScottPlot.Colors.Crimson, ScottPlot.Colors.Olive];
    for (var i = 0; i < groups.Count; i++)
    {
        var color = colors[i % colors.Length];
        var x = groups[i].Select(s => s.Forward).ToArray();
        var y = groups[i].Select(s => s.Reverse).ToArray();
        var (mx, my, sx, sy) = (x.Average(), y.Average(), Sd(x), Sd(y));
        var marker = plot.Add.Marker(mx, my, ScottPlot.MarkerShape.FilledCircle, 10, color);
        marker.LegendText = groups[i].Key;
        plot.Add.Line(mx - sx, my, mx + sx, my).Color = color;
        plot.Add.Line(mx, my - sy, mx, my + sy).Color = color;
    }
    plot.Title("On-policy vs white-box KD from the same SFT start (mean ± sd over seeds; lower is better on both axes)");
    plot.XLabel("KL(T‖S) on the teacher's held-out text (forward)");
    plot.YLabel("KL(S‖T) on the student's own samples (reverse, sample-level)");
    plot.ShowLegend(ScottPlot.Alignment.UpperRight);
    plot.SavePng(png, 1000, 650);
}

static double Sd(double[] x)
{
    if (x.Length < 2) return 0;
    var m = x.Average();
    return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1));
}

/// <summary>One student's held-out scores in one seed's evaluation.</summary>
internal sealed record Student(string Name, double Forward, double Reverse, double BitsPerByte, double Agreement)
{
    /// <summary>The students (not the teacher) in one `distill eval` scores.json.</summary>
    public static IEnumerable<Student> Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var m in doc.RootElement.GetProperty("Models").EnumerateArray())
        {
            if (m.GetProperty("Role").GetString() != "student") continue;
            yield return new Student(m.GetProperty("Name").GetString()!, m.GetProperty("KlToTeacher").GetDouble(),
                m.GetProperty("SampleReverseKl").GetDouble(), m.GetProperty("BitsPerByte").GetDouble(), m.GetProperty("Agreement").GetDouble());
        }
    }
}
