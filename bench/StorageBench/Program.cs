using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.Training.Language.Data;

// Bytes per completion token of a dataset folder (data.jsonl, plus the sidecar where there is one) with the token
// logprobs inline as JSON (before) and in the compact sidecar (after), at top-5 and top-20, on rows the real stories260K
// teacher writes; and the throughput of the training data path on each form: read the rows, build the top-k examples.
//
// Usage: dotnet run -c Release --project bench/StorageBench [-- ROWS MAX_TOKENS REPEATS]
var rowCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 120;
var maxTokens = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 128;
var repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
var root = Path.Combine(Path.GetTempPath(), "distillery-storage-bench-" + Environment.ProcessId);
var teacherSpec = "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin");

var generated = Stopwatch.StartNew();
var rows20 = await GenerateAsync(teacherSpec, rowCount, maxTokens);
Console.WriteLine($"generated {rows20.Count} rows, {rows20.Sum(r => r.Distillery!.Tokens.Count):N0} completion tokens, in {generated.Elapsed.TotalSeconds:F0} s");
var tokenizer = await TokenizerLoader.LoadAsync(SharedTestData.Get("stories260K/tok512.bin"));

var results = new List<string>();
foreach (var k in new[] { 5, 20 })
{
    var rows = rows20.Select(r => TopK(r, k)).ToList();
    var completionTokens = rows.Sum(r => r.Distillery!.Tokens.Count);
    var inline = Path.Combine(root, $"inline-top{k}");
    var compact = Path.Combine(root, $"compact-top{k}");
    await using (var writer = await DatasetWriter.OpenAsync(inline)) await writer.RewriteLinesAsync(rows.Select(r => JsonSerializer.Serialize(r, DatasetJson.Compact)));
    await using (var writer = await DatasetWriter.OpenAsync(compact)) await writer.RewriteAsync(rows);
    var (before, after) = (DatasetConversion.DataBytes(inline), DatasetConversion.DataBytes(compact));
    var (inlineRate, compactRate) = (await ReadRateAsync(inline, tokenizer, k, repeats), await ReadRateAsync(compact, tokenizer, k, repeats));
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"| {k} | {completionTokens:N0} | {(double)before / completionTokens:F0} | {(double)after / completionTokens:F1} | {(double)before / after:F1}× | {inlineRate:N0} | {compactRate:N0} | {compactRate / inlineRate:F2}× | {after * 1_000_000.0 / completionTokens / 1e6:F0} MB |"));
    Console.WriteLine(results[^1]);
}
Directory.Delete(root, recursive: true);

var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
var report = string.Join('\n',
[
    "# Storage benchmark: bytes per completion token and training read throughput, JSON logprobs against the sidecar",
    "",
    string.Create(CultureInfo.InvariantCulture, $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture}), {Environment.ProcessorCount} logical CPUs, .NET {Environment.Version}, load average at the end {load}; build Release. The machine is shared: throughput figures move with the load, the ratio in the same run is what to compare."),
    "",
    string.Create(CultureInfo.InvariantCulture, $"Rows: {rowCount} samples of up to {maxTokens} tokens from the real stories260K teacher (temperature 1, seeded), with top-20 logprobs and token ids (a local teacher's); top-5 keeps each position's 5 most likely alternatives. **Before**: the logprobs inline in data.jsonl as JSON (what versions before the sidecar wrote). **After**: data.jsonl with a reference per row, plus tokens.bin and logprobs.bin (float16 logprobs, interned tokens; docs/dataset-format.md). Bytes are the data side only (data.jsonl + sidecar), not the ledger. **Read** is the training data path: read every row (`DatasetReader`) and build the top-k examples (`LmExampleBuilder`), best of {repeats}, in completion tokens per second."),
    "",
    "| top-k | completion tokens | before (B/token) | after (B/token) | smaller by | read before (tokens/s) | read after (tokens/s) | read after / before | after, for 1M tokens |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    .. results,
    "",
    "Run: `dotnet run -c Release --project bench/StorageBench` (`-- ROWS MAX_TOKENS REPEATS`).",
    "",
]);
var output = Path.Combine(FindRepository(), "bench", "results", "storage.md");
await File.WriteAllTextAsync(output, report);
Console.WriteLine($"wrote {output}");

static async System.Threading.Tasks.Task<List<DatasetRow>> GenerateAsync(string spec, int count, int maxTokens)
{
    using var teacher = await ModelLoader.LoadAsync(spec);
    TorchSharp.torch.set_num_threads(1);
    var rows = new List<DatasetRow>(count);
    for (var i = 0; i < count; i++)
    {
        var sampling = new SamplingParameters { Temperature = 1.0, MaxTokens = maxTokens, Seed = i, TopLogprobs = 20 };
        var messages = new List<ChatMessage> { ChatMessage.User("") };
        var result = teacher.GenerateChat(messages, sampling);
        rows.Add(new DatasetRow([.. messages, ChatMessage.Assistant(result.Text)], new RowProvenance
        {
            PromptId = $"p{i}",
            Teacher = new RowTeacher { Provider = "llama2c", Model = "stories260K", RequestedModel = "stories260K", Endpoint = spec, Sampling = sampling },
            FinishReason = result.FinishReasonText,
            Tokens = result.Logprobs,
            Usage = new TokenUsage(result.PromptTokens, result.CompletionTokens),
            RequestHash = $"{i:x64}",
            Timestamp = DateTimeOffset.UnixEpoch,
        }));
    }
    return rows;
}

static DatasetRow TopK(DatasetRow row, int k) => row with
{
    Distillery = row.Distillery! with
    {
        Tokens = [.. row.Distillery.Tokens.Select(t => t with { TopLogprobs = [.. t.TopLogprobs.OrderByDescending(a => a.Logprob).Take(k)] })],
    },
};

static async System.Threading.Tasks.Task<double> ReadRateAsync(string folder, ITextTokenizer tokenizer, int k, int repeats)
{
    var best = 0.0;
    for (var r = 0; r < repeats; r++)
    {
        var clock = Stopwatch.StartNew();
        var rows = await DatasetReader.ReadAllRowsAsync(folder);
        var set = LmExampleBuilder.Build(rows, tokenizer, ChatTemplate.Plain, new LmTokenization(1024, WithTopK: true, TopLogprobs: k));
        clock.Stop();
        best = Math.Max(best, rows.Sum(x => x.Distillery!.Tokens.Count) / clock.Elapsed.TotalSeconds);
        GC.KeepAlive(set);
    }
    return best;
}

static string FindRepository()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}
