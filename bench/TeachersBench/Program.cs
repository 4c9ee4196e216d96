using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Teachers;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Servers;
using TeachersBench;

// Requests/s of `distill generate` (OpenAI SDK teacher + retries + rate limiter + ledger + dataset writer) against a local
// OpenAI-compatible server, as a ratio of that server's capacity measured in the same run by a bare HttpClient at the same concurrency.
// Each level runs a few seconds of requests (at least --seconds, default 6, at the server's upper bound) and is repeated
// --repeats times (default 3), capacity, SDK and distill in turn; the table gives the median ratio and the range.
// Usage: dotnet run -c Release --project bench/TeachersBench [-- --seconds S --repeats R]
var slots = 16;
var serviceTime = TimeSpan.FromMilliseconds(20);
// 17 words: the fake server's answer (the words reversed after "echo") is cut at max_tokens = 16.
const string Prompt = "Tell me a short story about the number {0}, with a dog, a cat and a ball.";
if (args.Contains("--serve"))
{
    // The server's own process, as a real teacher server is (in the measuring process its service time would depend on
    // that process's thread pool and timers, which the code being measured changes): print the base URL, serve until
    // standard input ends.
    await using var served = await FakeOpenAiServer.StartAsync();
    served.Slots = slots;
    served.Latency = serviceTime;
    Console.WriteLine(served.BaseUrl);
    await Console.In.ReadToEndAsync();
    return 0;
}
if (Array.IndexOf(args, "--ledger-bytes") is var at and >= 0 && at + 1 < args.Length)
{
    // Bytes per completion token of dataset and ledger, the ledger in each stored form, from an existing ledger (the demo's).
    var scratch = Path.Combine(Path.GetTempPath(), "ledger-bytes-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(scratch);
    var section = await LedgerBytes.MeasureAsync(args[at + 1], scratch);
    Directory.Delete(scratch, recursive: true);
    Console.WriteLine(section);
    var results = Path.Combine(FindResultsDirectory(), "teachers.md");
    var kept = File.Exists(results) ? WithoutSection(await File.ReadAllTextAsync(results)) : "";
    await File.WriteAllTextAsync(results, kept.TrimEnd() + "\n\n" + section.Replace("\r", "", StringComparison.Ordinal) + "\n");
    return 0;
}
var seconds = Option("--seconds", 6.0);
var repeats = (int)Option("--repeats", 3.0);
// Requests per level: `seconds` worth at the most this concurrency could get from the server.
var only = (int)Option("--concurrency", 0);
var levels = new[] { 1, 8, 64 }.Where(c => only == 0 || c == only).Select(c => (Concurrency: c, Requests: (int)(seconds * Math.Min(c, slots) / serviceTime.TotalSeconds))).ToArray();
var work = Path.Combine(Path.GetTempPath(), "teachers-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
await using var server = await ServerProcess.StartAsync();
Console.WriteLine($"server {server.BaseUrl}: {slots} slots x {serviceTime.TotalMilliseconds} ms = {slots / serviceTime.TotalSeconds:F0} req/s at most");

// Warm both paths (JIT, connections) so neither pays start-up in its measurement.
await MeasureCapacityAsync(server.BaseUrl, 8, 200);
await MeasureDistillAsync(server, 8, 200, Path.Combine(work, "warm"));

var rows = new StringBuilder();
var allOk = true;
foreach (var (concurrency, requests) in levels)
{
    var runs = new List<(double Capacity, double Sdk, double Rate, int Lost, double CpuSdk, double CpuDistill)>();
    for (var r = 0; r < repeats; r++)
    {
        await server.ResetAsync();
        var cpu = Cpu();
        var capacity = await MeasureCapacityAsync(server.BaseUrl, concurrency, requests);
        var capacityLost = Math.Abs(await server.AnsweredAsync() - requests);
        var cpuCapacity = Cpu() - cpu;
        var sdk = await MeasureSdkAsync(server.BaseUrl, concurrency, requests);
        var cpuSdk = Cpu() - cpu - cpuCapacity;
        await server.ResetAsync();
        cpu = Cpu();
        var (rate, lost) = await MeasureDistillAsync(server, concurrency, requests, Path.Combine(work, $"c{concurrency}-{r}"));
        var cpuDistill = Cpu() - cpu;
        runs.Add((capacity, sdk, rate, lost + capacityLost, cpuSdk / requests, cpuDistill / requests));
        Console.WriteLine($"c={concurrency} run {r + 1}: capacity {capacity:F1}, SDK {sdk:F1}, distill {rate:F1} req/s ({rate / capacity:P1}), lost {lost}; " +
            $"CPU ms per request (both processes): bare {cpuCapacity / requests:F2}, SDK {cpuSdk / requests:F2}, distill {cpuDistill / requests:F2}");
    }
    static double Ratio((double Capacity, double Sdk, double Rate, int Lost, double CpuSdk, double CpuDistill) run) => run.Rate / run.Capacity;
    var sorted = runs.OrderBy(Ratio).ToList();
    var median = sorted[sorted.Count / 2];
    var totalLost = runs.Sum(x => x.Lost);
    var ok = Ratio(median) >= 0.9 && totalLost == 0;
    allOk &= ok;
    var line = $"| {concurrency} | {requests} × {runs.Count} | {median.Capacity:F1} | {median.Sdk:F1} ({median.Sdk / median.Capacity:P0}) | {median.Rate:F1} | " +
        $"{Ratio(median):P1} ({Ratio(sorted[0]):P1}–{Ratio(sorted[^1]):P1}) | {median.CpuSdk:F2} / {median.CpuDistill:F2} | {totalLost} | {(ok ? "yes" : "NO")} |";
    Console.WriteLine(line);
    rows.AppendLine(line);
}
Directory.Delete(work, recursive: true);

var machine = $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture}), {Environment.ProcessorCount} logical CPUs ({CpuModel()}), {RuntimeInformation.FrameworkDescription}, load average at the end {LoadAverage()}";
var report = $"""
    # Teachers benchmark: `distill generate` throughput against a local OpenAI-compatible server

    Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {machine}; build {(IsRelease() ? "Release" : "Debug")}.

    The server (Kestrel on 127.0.0.1, in a process of its own, as a real teacher server is) serves {slots} requests at once, each taking {serviceTime.TotalMilliseconds:F0} ms, and answers 16 tokens
    with 5 top logprobs each, so its capacity is at most {slots / serviceTime.TotalSeconds:F0} req/s. **Capacity** is measured in the same run, per
    concurrency, by a bare `HttpClient` posting the same request (no SDK, no ledger, no dataset). **distill** is the whole generation
    path: prompts file, OpenAI .NET SDK teacher with retry and rate-limit wrappers, one loop per slot, the SQLite ledger (a
    committed "sending" record before each request and the stored answer after it, group-committed), `data.jsonl` rows
    flushed one by one, and the final reordering of the rows into prompt order. **Lost** counts prompts without a row, rows without an answered ledger entry, and server
    answers beyond one per prompt. **SDK alone** is the OpenAI .NET SDK client by itself (no ledger, no dataset) at the same
    concurrency: it shows how much of the gap to capacity is the SDK's own per-request cost.

    Each level ran {seconds:G3} s worth of requests at the server's bound, {repeats} times (capacity, SDK and distill in turn); the row is
    the run with the median ratio, with the range of the ratio over all runs.

    **CPU ms / request** is the CPU time of both processes (measuring and server) per request while the SDK alone, and then distill, ran.

    | concurrency | requests × runs | capacity (req/s) | SDK alone (req/s) | distill (req/s) | distill / capacity (range) | CPU ms / request, SDK / distill | lost | median ≥ 90% and none lost |
    | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |
    {rows.ToString().TrimEnd()}

    Target: at least 90% of capacity with nothing lost. {(allOk ? "Met at every concurrency." : "NOT met everywhere; see the rows marked NO.")}
    The machine is shared (other builds may run at the same time), so figures move between runs; the ratio is what to compare.
    Run: `dotnet run -c Release --project bench/TeachersBench` (`-- --seconds S --repeats R`).
    """;
var resultsDir = FindResultsDirectory();
// The ledger-bytes section (written by --ledger-bytes) stays below the throughput report.
var previous = Path.Combine(resultsDir, "teachers.md");
var ledgerSection = File.Exists(previous) ? SectionOf(await File.ReadAllTextAsync(previous)) : "";
await File.WriteAllTextAsync(previous, report.Replace("\r", "", StringComparison.Ordinal) + "\n" + (ledgerSection.Length > 0 ? "\n" + ledgerSection + "\n" : ""));
Console.WriteLine($"wrote {Path.Combine(resultsDir, "teachers.md")}");
return allOk ? 0 : 1;

static string SectionOf(string text) =>
    text.IndexOf(LedgerBytes.Start, StringComparison.Ordinal) is var from and >= 0 && text.IndexOf(LedgerBytes.End, from, StringComparison.Ordinal) is var to and >= 0
        ? text[from..(to + LedgerBytes.End.Length)] : "";

static string WithoutSection(string text) => SectionOf(text) is { Length: > 0 } section ? text.Replace(section, "", StringComparison.Ordinal) : text;

double Option(string name, double fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}

// CPU time of both processes, the measuring one and the server's.
double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds + server.CpuMilliseconds;

static async Task<double> MeasureCapacityAsync(Uri baseUrl, int concurrency, int requests)
{
    using var client = new HttpClient();
    var body = RequestBody();
    var next = 0;
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) <= requests)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await client.PostAsync(new Uri(baseUrl + "/chat/completions"), content);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        }
    }));
    return requests / watch.Elapsed.TotalSeconds;
}

static async Task<double> MeasureSdkAsync(Uri baseUrl, int concurrency, int requests)
{
    var teacher = new OpenAiTeacher("bench-model", baseUrl, "sk-bench", TimeSpan.FromSeconds(60));
    var next = 0;
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) <= requests)
            await teacher.CompleteAsync(new TeacherRequest([ChatMessage.User(string.Format(System.Globalization.CultureInfo.InvariantCulture, Prompt, 7))], new SamplingParameters { Temperature = 0, MaxTokens = 16, TopLogprobs = 5 }));
    }));
    return requests / watch.Elapsed.TotalSeconds;
}

static async Task<(double Rate, int Lost)> MeasureDistillAsync(ServerProcess server, int concurrency, int requests, string directory)
{
    Directory.CreateDirectory(directory);
    var prompts = Path.Combine(directory, "prompts.jsonl");
    await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, requests).Select(i =>
        $"{{\"id\":\"p{i}\",\"prompt\":\"{string.Format(System.Globalization.CultureInfo.InvariantCulture, Prompt, i)}\"}}"));
    var output = Path.Combine(directory, "out");
    var statistics = new TeacherStatistics();
    var teacher = TeacherFactory.Wrap(new OpenAiTeacher("bench-model", server.BaseUrl, "sk-bench", TimeSpan.FromSeconds(60)), new TeacherSettings { Statistics = statistics });
    var options = new LabelingOptions
    {
        PromptsPath = prompts,
        OutputDirectory = output,
        Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 16, TopLogprobs = 5 },
        Concurrency = concurrency,
        Statistics = statistics,
    };
    var watch = Stopwatch.StartNew();
    var summary = await new LabelingRunner(teacher, options).RunAsync();
    var rate = requests / watch.Elapsed.TotalSeconds;
    var rows = await DatasetReader.ReadAllRowsAsync(output);
    await using var ledger = await TeacherLedger.OpenAsync(Path.Combine(output, "ledger.db"));
    var answered = (await ledger.ReadAllAsync()).Count(e => e.Status == LedgerStatus.Answered);
    var distinctRows = rows.Select(r => r.Distillery!.PromptId).Distinct().Count();
    var lost = (requests - distinctRows) + (requests - answered) + Math.Abs(await server.AnsweredAsync() - requests) + summary.Failed;
    return (rate, lost);
}

static string RequestBody() =>
    """{"model":"bench-model","messages":[{"role":"user","content":"Tell me a short story about the number 7, with a dog, a cat and a ball."}],"temperature":0,"max_completion_tokens":16,"logprobs":true,"top_logprobs":5}""";

static string CpuModel()
{
    try
    {
        return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
    }
    catch (IOException)
    {
        return "unknown CPU";
    }
}

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static bool IsRelease() =>
    !(typeof(ServerProcess).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false).OfType<DebuggableAttribute>().FirstOrDefault()?.IsJITOptimizerDisabled ?? false);

static string FindResultsDirectory()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx")))
        {
            var results = Path.Combine(dir.FullName, "bench", "results");
            Directory.CreateDirectory(results);
            return results;
        }
    return Directory.GetCurrentDirectory();
}
