// Decode throughput of `distill serve` (HTTP, OpenAI API) against llama.cpp (LLamaSharp) on the same GGUF file,
// one stream and 8 concurrent streams, measured in the same run. Writes bench/results/serve.md.
// Usage: dotnet run -c Release --project bench/ServeBench [-- MODEL.gguf] [--tokens N] [--rounds R]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Distillery.Core.Chat;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Server;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Files;

var tokens = ArgInt("--tokens", 128);
var rounds = ArgInt("--rounds", 3);
var gguf = args.FirstOrDefault(a => a.EndsWith(".gguf", StringComparison.Ordinal)) ?? ExportStories();
using var bundle = await ModelLoader.LoadAsync("gguf:" + gguf);
var openings = File.ReadAllLines(FindRepoFile("demo/story-openings-heldout.txt")).Take(8).ToArray();
var prompts = openings.Select(o => bundle.EncodePrompt(o)).ToArray();
var greedy = new SamplingParameters { Temperature = 0, MaxTokens = tokens };
Console.WriteLine($"model {gguf}: {bundle.Model.ParameterCount:N0} parameters; {tokens} tokens per stream, best of {rounds} rounds");

// Distillery in-process (no HTTP): the decoder's own rate.
var inProcess = Best(rounds, () => prompts.Sum(p => bundle.Generate(p, greedy).CompletionTokens));

// distill serve over HTTP: one stream, then 8 concurrent streams.
await using var server = await OpenAiServer.StartAsync(new ModelBundleService(bundle, "bench"), new ServerOptions { Port = 0 });
using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
async Task<int> Complete(string prompt)
{
    using var response = await http.PostAsJsonAsync("/v1/completions", new { model = "bench", prompt, max_tokens = tokens, temperature = 0 });
    response.EnsureSuccessStatusCode();
    using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    return doc.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
}
var serveOne = Best(rounds, () => openings.Sum(o => Complete(o).GetAwaiter().GetResult()));
var serveEight = Best(rounds, () => Task.WhenAll(openings.Select(Complete)).GetAwaiter().GetResult().Sum());

// llama.cpp on the same file: one sequence at a time, then the 8 sequences in one batch per step.
using var llamaOne = LlamaCppModel.Load(gguf, contextSize: 512);
var llamaSingle = Best(rounds, () => prompts.Sum(p => llamaOne.Greedy(p, tokens).Count));
llamaOne.Dispose();
using var llamaEight = LlamaCppModel.Load(gguf, contextSize: 512, sequences: 8);
var llamaBatch = Best(rounds, () => llamaEight.GreedyBatch(prompts, tokens).Sum(s => s.Count));

var gflops = MatmulBenchmark.MeasureGflops();
var rows = new (string Name, double Rate)[]
{
    ("Distillery decoder in-process, 1 stream", inProcess),
    ("distill serve (HTTP), 1 stream", serveOne),
    ("distill serve (HTTP), 8 concurrent streams", serveEight),
    ("llama.cpp (LLamaSharp), 1 stream", llamaSingle),
    ("llama.cpp (LLamaSharp), 8 streams batched", llamaBatch),
};
var report = new StringBuilder();
report.AppendLine("# distill serve against llama.cpp").AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} CPU threads, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}; fp32 matmul {gflops:F0} GFLOP/s (libtorch, same run).");
report.AppendLine(CultureInfo.InvariantCulture, $"Model: `{Path.GetFileName(gguf)}` ({bundle.Model.ParameterCount:N0} parameters), greedy, {tokens} new tokens per stream, 8 story openings, best of {rounds} rounds.").AppendLine();
report.AppendLine("| engine | tokens/s | ratio to llama.cpp (same streams) |").AppendLine("| --- | ---: | ---: |");
foreach (var (name, rate) in rows)
{
    var baseline = name.Contains("8", StringComparison.Ordinal) ? llamaBatch : llamaSingle;
    report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {rate:F0} | {rate / baseline:F2} |");
}
report.AppendLine().AppendLine(CultureInfo.InvariantCulture,
    $"Ratios: serve 1 stream / llama.cpp 1 stream = {serveOne / llamaSingle:F2}; serve 8 streams / llama.cpp 8 batched = {serveEight / llamaBatch:F2}; HTTP overhead (serve 1 stream / in-process) = {serveOne / inProcess:F2}.");
Console.Write(report);
var results = Path.Combine(Path.GetDirectoryName(FindRepoFile("demo/story-openings-heldout.txt"))!, "..", "bench", "results", "serve.md");
File.WriteAllText(results, report.ToString());
Console.WriteLine($"wrote {Path.GetFullPath(results)}");

static double Best(int rounds, Func<int> run)
{
    run(); // warm-up
    var best = 0.0;
    for (var r = 0; r < rounds; r++)
    {
        var clock = Stopwatch.StartNew();
        var produced = run();
        best = Math.Max(best, produced / clock.Elapsed.TotalSeconds);
    }
    return best;
}

int ArgInt(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static string ExportStories()
{
    var bin = SharedTestData.TryGet("stories260K/stories260K.bin") ?? throw new FileNotFoundException("give a .gguf file, or run beside ../shared/data");
    using var source = ModelLoader.LoadAsync("llama2c:" + bin).GetAwaiter().GetResult();
    var path = Path.Combine(Path.GetTempPath(), "serve-bench-stories260K.gguf");
    LlamaGguf.Export(source.Model, source.Tokenizer, path);
    return path;
}

static string FindRepoFile(string relative)
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
    throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
}
