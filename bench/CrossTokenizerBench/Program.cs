using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Distillery.Core.Datasets;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language.Data;

// What `distill` cannot measure for bench/cross-tokenizer/run.sh (issue 14's benchmark). Verbs:
//   coverage [--data DIR]                     the real-pair coverage table (GSM8K, TinyStories) as Markdown on stdout
//   speed --data DIR --student TOK [--rounds N]   alignment throughput over a generated dataset (stored teacher tokens)
//   prefixes --data DIR --student TOK        how much stored top-k mass lands on student tokens that begin a longer student token
//   quality --in scores.tsv --png PATH        the quality table (mean ± sd) on stdout and its plot
// Usage: dotnet run -c Release --project bench/CrossTokenizerBench -- VERB [options]
var culture = CultureInfo.InvariantCulture;
if (args.Length == 0) return Fail("give a verb: coverage, speed or quality");
switch (args[0])
{
    case "coverage":
        await Coverage();
        return 0;
    case "speed":
        await Speed(Arg("--data") ?? throw new ArgumentException("speed needs --data DIR"), Arg("--student") ?? throw new ArgumentException("speed needs --student TOKENIZER"), int.Parse(Arg("--rounds") ?? "5", culture));
        return 0;
    case "prefixes":
        await Prefixes(Arg("--data") ?? throw new ArgumentException("prefixes needs --data DIR"), Arg("--student") ?? throw new ArgumentException("prefixes needs --student TOKENIZER"));
        return 0;
    case "quality":
        Quality(Arg("--in") ?? throw new ArgumentException("quality needs --in FILE"), Arg("--png") ?? throw new ArgumentException("quality needs --png PATH"));
        return 0;
    default:
        return Fail($"unknown verb '{args[0]}'");
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}

// Coverage: for each (teacher → student) pair and text, the share of one-to-one chunks, the mean chunk length in tokens on
// each side, and the share of the teacher's distinct tokens in the text that the student spells as one token (same bytes).
async System.Threading.Tasks.Task Coverage()
{
    var root = SharedTestData.TryFind() ?? throw new InvalidOperationException("needs ../shared/data (tokenizers, gsm8k, text)");
    var tokenizers = new Dictionary<string, ITextTokenizer>();
    foreach (var (name, folder) in new[] { ("GPT-4o", "gpt-4o"), ("Qwen3", "qwen3"), ("Llama 3.1", "llama-3.1") })
        tokenizers[name] = await TokenizerLoader.LoadAsync(Path.Combine(root, "tokenizers", folder, "tokenizer.json"));
    var texts = new List<(string Name, List<string> Docs)>
    {
        ("GSM8K test (1,319 questions + answers)", File.ReadLines(Path.Combine(root, "gsm8k", "test.jsonl")).Where(l => l.Length > 0)
            .Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.GetProperty("question").GetString() + "\n" + d.RootElement.GetProperty("answer").GetString(); }).ToList()),
        ("TinyStories sample", File.ReadLines(Path.Combine(root, "text", "tinystories_sample.jsonl")).Where(l => l.Length > 0)
            .Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.GetProperty("text").GetString()!; }).ToList()),
    };
    // The sample above is one story; a generated dataset (stories260K's TinyStories-style completions) adds more of that text.
    if (Arg("--data") is { } data)
        texts.Add(("stories260K completions (TinyStories style)", (await DatasetReader.ReadAllRowsAsync(data)).Select(r => r.Messages[^1].Content).ToList()));
    Console.WriteLine("| text | teacher → student | teacher tokens | one-to-one chunks | mean chunk length, teacher tokens | mean chunk length, student tokens | teacher's distinct tokens the student spells as one token |");
    Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    foreach (var (textName, docs) in texts)
    {
        var bytes = docs.Sum(d => Encoding.UTF8.GetByteCount(d));
        foreach (var (t, s) in new[] { ("GPT-4o", "Qwen3"), ("GPT-4o", "Llama 3.1"), ("Qwen3", "Llama 3.1") })
        {
            var teacher = tokenizers[t];
            var student = tokenizers[s];
            var studentWords = LmExampleBuilder.ByteVocabulary(student);
            long chunks = 0, oneToOne = 0, teacherTokens = 0, studentTokens = 0;
            var distinct = new HashSet<int>();
            foreach (var doc in docs)
            {
                var ti = teacher.Encode(doc);
                var si = student.Encode(doc);
                var aligned = TokenAlignment.Align(TokenOffsets.Map(teacher, doc, ti), TokenOffsets.Map(student, doc, si));
                chunks += aligned.Count;
                oneToOne += aligned.Count(c => c.IsOneToOne);
                teacherTokens += ti.Count;
                studentTokens += si.Count;
                foreach (var id in ti) if (!teacher.IsSpecial(id)) distinct.Add(id);
            }
            var spelled = distinct.Count(id => studentWords.ContainsKey(Convert.ToHexString(teacher.TokenBytes(id))));
            Console.WriteLine(string.Create(culture, $"| {textName}, {bytes:N0} bytes | {t} → {s} | {teacherTokens:N0} | {100.0 * oneToOne / chunks:F1}% | {(double)teacherTokens / chunks:F3} | {(double)studentTokens / chunks:F3} | {100.0 * spelled / distinct.Count:F1}% of {distinct.Count:N0} |"));
        }
    }
}

// Speed: the whole cross-tokenizer preparation training runs once per dataset (student encoding, offset maps, alignment,
// chunk shifting), and the alignment alone on precomputed offsets; best of N rounds, in tokens (teacher + student) per second.
async System.Threading.Tasks.Task Speed(string data, string studentSpec, int rounds)
{
    var rows = await DatasetReader.ReadAllRowsAsync(data);
    var student = await TokenizerLoader.LoadAsync(studentSpec);
    var offsets = new List<(TokenOffsets Teacher, TokenOffsets Student)>();
    foreach (var row in rows)
    {
        var text = row.Messages[^1].Content;
        var stored = row.Distillery!.Tokens;
        var lengths = stored.Select(t => t.Bytes.Count).ToArray();
        var textBytes = Encoding.UTF8.GetByteCount(text);
        if (lengths.Sum() == textBytes + 1) lengths[0]--; // the llama2.c teacher's dummy-prefix space (as the builder does)
        offsets.Add((TokenOffsets.FromLengths(lengths, textBytes), TokenOffsets.Map(student, text, student.Encode(text))));
    }
    long tokens = offsets.Sum(o => (long)o.Teacher.Count + o.Student.Count);
    double bestAlign = double.MaxValue, bestBuild = double.MaxValue;
    long chunks = 0;
    for (var r = 0; r < rounds; r++)
    {
        var watch = Stopwatch.StartNew();
        chunks = 0;
        foreach (var (t, s) in offsets) chunks += TokenAlignment.Align(t, s).Count;
        bestAlign = Math.Min(bestAlign, watch.Elapsed.TotalSeconds);
        watch.Restart();
        var set = CrossTokenizerExampleBuilder.FromStoredTokens(rows, student, ChatTemplate.Plain, 160);
        bestBuild = Math.Min(bestBuild, watch.Elapsed.TotalSeconds);
        if (set.Examples.Count == 0) throw new InvalidOperationException("no examples");
    }
    Console.WriteLine(string.Create(culture, $"rows={rows.Count} tokens={tokens} chunks={chunks} align_s={bestAlign:G4} align_tokens_per_s={tokens / bestAlign:F0} build_s={bestBuild:G4} build_tokens_per_s={tokens / bestBuild:F0}"));
}

// Prefixes: of the stored alternatives whose bytes are one student token, the share (by count and by teacher probability)
// whose bytes also begin a longer student token. For those the teacher's probability covers continuations the student
// spells with other tokens, so it is not the student's probability of that token.
async System.Threading.Tasks.Task Prefixes(string data, string studentSpec)
{
    var rows = await DatasetReader.ReadAllRowsAsync(data);
    var student = await TokenizerLoader.LoadAsync(studentSpec);
    var words = LmExampleBuilder.ByteVocabulary(student).Keys.ToHashSet(StringComparer.Ordinal);
    var prefixes = new HashSet<string>(StringComparer.Ordinal);
    foreach (var word in words)
        for (var i = 2; i < word.Length; i += 2) prefixes.Add(word[..i]);
    long matched = 0, ambiguous = 0;
    double mass = 0, ambiguousMass = 0;
    foreach (var token in rows.SelectMany(r => r.Distillery!.Tokens))
        foreach (var alternative in token.TopLogprobs)
        {
            var key = Convert.ToHexString(alternative.Bytes.Select(b => checked((byte)b)).ToArray());
            if (!words.Contains(key)) continue;
            var p = Math.Exp(alternative.Logprob);
            matched++;
            mass += p;
            if (!prefixes.Contains(key)) continue;
            ambiguous++;
            ambiguousMass += p;
        }
    Console.WriteLine(string.Create(culture, $"matched_alternatives={matched} prefix_share={(double)ambiguous / matched:F4} prefix_mass_share={ambiguousMass / mass:F4}"));
}

// Quality: rows of "label<TAB>vocab<TAB>seed<TAB>bits_per_byte<TAB>agreement<TAB>parameters" → a table of mean ± sd and a plot.
void Quality(string input, string png)
{
    var rows = File.ReadLines(input).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
    var groups = rows.GroupBy(r => r[0]).Select(g => (Label: g.Key, Vocab: g.First()[1], Params: g.First()[5],
        Bpb: g.Select(r => double.Parse(r[3], culture)).ToArray(), Agree: g.Select(r => double.Parse(r[4], culture)).ToArray())).ToList();
    Console.WriteLine("| student | vocabulary | parameters | seeds | held-out bits per byte (mean ± sd) | top-1 agreement on one-to-one chunks (mean ± sd) |");
    Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
    foreach (var g in groups)
        Console.WriteLine(string.Create(culture, $"| {g.Label} | {g.Vocab} | {long.Parse(g.Params, culture):N0} | {g.Bpb.Length} | {Mean(g.Bpb):F4} ± {Sd(g.Bpb):F4} | {100 * Mean(g.Agree):F1}% ± {100 * Sd(g.Agree):F1} |"));

    var plot = new ScottPlot.Plot();
    var bars = groups.Select((g, i) => new ScottPlot.Bar { Position = i, Value = Mean(g.Bpb), Error = Sd(g.Bpb), FillColor = g.Vocab.StartsWith("tok512", StringComparison.Ordinal) ? ScottPlot.Colors.SteelBlue : ScottPlot.Colors.Orange }).ToList();
    plot.Add.Bars(bars);
    plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.Select(g => ReplaceFirst(g.Label, ' ', '\n').Replace(", ", "\n", StringComparison.Ordinal)).ToArray());
    plot.Axes.Bottom.MinimumSize = 60;
    var low = groups.Min(g => Mean(g.Bpb) - Sd(g.Bpb));
    var high = groups.Max(g => Mean(g.Bpb) + Sd(g.Bpb));
    plot.Axes.SetLimitsY(low - 0.15 * (high - low) - 1e-3, high + 0.15 * (high - low) + 1e-3);
    plot.Title("Held-out bits per byte (mean ± sd over seeds; blue: tok512 student, orange: SPM-1024 student)");
    plot.YLabel("bits per UTF-8 byte (lower is better)");
    plot.SavePng(png, 1500, 700);
}

static string ReplaceFirst(string text, char from, char to)
{
    var i = text.IndexOf(from, StringComparison.Ordinal);
    return i < 0 ? text : text[..i] + to + text[(i + 1)..];
}

static double Mean(double[] x) => x.Average();

static double Sd(double[] x)
{
    if (x.Length < 2) return 0;
    var m = x.Average();
    return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1));
}
