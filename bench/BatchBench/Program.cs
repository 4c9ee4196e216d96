using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers.Batch;
using Distillery.Teachers.Labeling;
using Distillery.TestSupport.Servers;

// One `distill generate --batch` job of --requests prompts (default 50,000) against the fake Batch API, which runs in a
// process of its own: time to submit (prompts read, requests claimed and recorded, file written, uploaded, batch created),
// time to collect (output downloaded, answers recorded, rows written), peak memory of the labeling process, and the
// server-side count of submissions (each request must be submitted once).
// Usage: dotnet run -c Release --project bench/BatchBench [-- --requests N]
const string Section = "## Batch API: one job through the fake Batch server";
if (args.Contains("--serve"))
{
    await using var served = await FakeBatchServer.StartAsync();
    served.PollsInProgress = 1;
    Console.WriteLine(served.BaseUrl);
    await Console.In.ReadToEndAsync();
    return 0;
}
var requests = Array.IndexOf(args, "--requests") is var at and >= 0 ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : 50_000;
var work = Path.Combine(Path.GetTempPath(), "batch-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
using var server = StartServer(out var baseUrl);
try
{
    var prompts = Path.Combine(work, "prompts.jsonl");
    await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, requests).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"Tell me a short story about the number {i}, with a dog, a cat and a ball.\"}}"));
    var options = new LabelingOptions
    {
        PromptsPath = prompts,
        OutputDirectory = Path.Combine(work, "out"),
        Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 16, TopLogprobs = 5 },
        Price = new ModelPrice(0.15m, 0.6m),
    }.ThroughBatch();
    var clock = Stopwatch.StartNew();
    var submitted = TimeSpan.Zero;
    var progress = new Watch(p =>
    {
        if (submitted == TimeSpan.Zero && p.Jobs.Any(j => j.BatchId is not null)) submitted = clock.Elapsed;
    });
    LabelingSummary summary;
    var settings = BatchSettings.Polling(TimeSpan.FromMilliseconds(200));
    await using (var teacher = await BatchTeacher.OpenAsync("gpt-bench", baseUrl, "no-key", TimeSpan.FromMinutes(5), options.LedgerLocation, settings, progress: progress))
        summary = await new LabelingRunner(teacher, options).RunAsync();
    var total = clock.Elapsed;
    // The labeling's peak, before the checks below read every row and ledger entry back.
    var peak = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    using var http = new HttpClient();
    var counts = JsonNode.Parse(await http.GetStringAsync(new Uri(baseUrl, FakeBatchServer.CountsPath)))!;
    var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
    await using var ledger = await TeacherLedger.OpenAsync(options.LedgerLocation);
    var entries = await ledger.ReadAllAsync();
    var dataBytes = new FileInfo(Path.Combine(options.OutputDirectory, DatasetFolder.DataFile)).Length;
    var table = $"""
        {Section}

        Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.FrameworkDescription}; build Release.
        The fake Batch API (Kestrel on 127.0.0.1, in a process of its own) answers every line of a batch, 16 tokens with 5 top logprobs each,
        through the fake chat logic the tests use, when the batch is first looked at after it is in progress; polling every 0.2 s.
        **Submit** is from the start of the run to the batch id stored (prompts read and hashed, every request claimed in the SQLite ledger,
        the job recorded, the JSONL written and uploaded, the batch created); **collect** is from there to the end (polls, the output file
        downloaded and read line by line, answers recorded in the ledger, rows written and put in prompt order). **Peak RSS** is the labeling
        process's when the run ends, before the bench reads the rows and the ledger back to check them; the server's is not counted.

        | requests | batches | submitted (distinct / total) | rows | ledger entries answered, sent once | submit (s) | collect (s) | total (s) | peak RSS (MB) | data.jsonl (MB) |
        | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
        | {requests:N0} | {counts["batches"]} | {(int)counts["distinct"]!:N0} / {(int)counts["total"]!:N0} | {rows.Count:N0} | {entries.Count(e => e.Status == LedgerStatus.Answered && e.Sends == 1):N0} | {submitted.TotalSeconds:F1} | {(total - submitted).TotalSeconds:F1} | {total.TotalSeconds:F1} | {peak:F0} | {dataBytes / 1e6:F0} |

        Run: `dotnet run -c Release --project bench/BatchBench` (`-- --requests N`).
        """;
    Console.WriteLine(table);
    Console.WriteLine($"summary: answered {summary.Answered}, failed {summary.Failed}, cost ${summary.CostUsd:F4}");
    var results = Path.Combine(FindRoot(), "bench", "results", "teachers.md");
    var text = await File.ReadAllTextAsync(results);
    // The section is replaced up to the next section or marked block; what follows it (another bench's section) stays.
    var start = text.IndexOf(Section, StringComparison.Ordinal);
    var end = start < 0 ? -1 : new[] { text.IndexOf("\n## ", start + Section.Length, StringComparison.Ordinal), text.IndexOf("\n<!--", start, StringComparison.Ordinal) }.Where(i => i >= 0).DefaultIfEmpty(-1).Min();
    var (before, after) = start < 0 ? (text, "") : (text[..start], end < 0 ? "" : text[end..]);
    await File.WriteAllTextAsync(results, before.TrimEnd() + "\n\n" + table.Replace("\r", "", StringComparison.Ordinal) + "\n" + (after.Length > 0 ? "\n" + after.TrimStart('\n') : ""));
    return summary.Failed == 0 && rows.Count == requests && (int)counts["total"]! == requests ? 0 : 1;
}
finally
{
    server.StandardInput.Close();
    if (!server.WaitForExit(5000)) server.Kill();
    Directory.Delete(work, recursive: true);
}

static Process StartServer(out Uri baseUrl)
{
    var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
    var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
    if (string.Equals(Path.GetFileNameWithoutExtension(self), "dotnet", StringComparison.OrdinalIgnoreCase)) start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
    start.ArgumentList.Add("--serve");
    var process = Process.Start(start) ?? throw new InvalidOperationException("the bench server did not start");
    baseUrl = new Uri((process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the bench server exited before it listened")).Trim());
    return process;
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
    throw new InvalidOperationException("run from inside the repository");
}

/// <summary>Progress seen on the reporting thread.</summary>
internal sealed class Watch(Action<BatchProgress> action) : IProgress<BatchProgress>
{
    public void Report(BatchProgress value) => action(value);
}
