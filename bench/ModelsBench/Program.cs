using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Distillery.Core.Chat;
using Distillery.Models.Checkpoints;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

// Greedy decoding speed of the Llama decoder, single stream, on stories260K and a random ~10M-parameter model.
// Usage: dotnet run -c Release --project bench/ModelsBench [-- --tokens 256 --rounds 5 --threads 1 --models stories260K,random --out bench/results/models.md]
var tokens = Arg("--tokens", 256);
var rounds = Arg("--rounds", 5);
var threadCounts = ArgString("--threads", "1").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
var only = ArgString("--models", "stories260K,random");
var outPath = ArgString("--out", Path.Combine(FindRepoRoot(), "bench", "results", "models.md"));
var modelPath = SharedTestData.TryGet("stories260K/stories260K.bin") ?? throw new InvalidOperationException("needs ../shared/data/stories260K");
var tokenizer = await Llama2cTokenizer.LoadAsync(SharedTestData.TryGet("stories260K/tok512.bin")!);
var report = new StringBuilder();
var culture = CultureInfo.InvariantCulture;
var loadBefore = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

report.AppendLine("# Models benchmark: greedy decoding, single stream");
report.AppendLine();
report.AppendLine(culture, $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `dotnet run -c Release --project bench/ModelsBench`.");
report.AppendLine();
report.AppendLine("## Machine");
report.AppendLine();
report.AppendLine(culture, $"- CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores");
report.AppendLine(culture, $"- {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}; TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3)}, libtorch {__version__}");
report.AppendLine(culture, $"- load average before the run: `{loadBefore}` (the machine is shared; wall-clock figures move with it, CPU-time figures much less)");

// Cost of one small libtorch op through TorchSharp, measured now: per-token time is mostly a count of these.
var opCost = MeasureOpCost();
set_num_threads(1);
var gflops = Distillery.Models.Runtime.MatmulBenchmark.MeasureGflops(512, 1.0);
report.AppendLine(culture, $"- one small TorchSharp op (allocating add of two 64-float tensors, inference mode, in a dispose scope): {opCost:F2} µs; fp32 matmul 512×512, one thread: {gflops:F1} GFLOP/s");
report.AppendLine();

using var stories = await Llama2cCheckpoint.LoadAsync(modelPath);
var randomConfig = new LlamaConfig
{
    HiddenSize = 384, IntermediateSize = 1024, NumHiddenLayers = 6, NumAttentionHeads = 6, NumKeyValueHeads = 2,
    VocabSize = 512, MaxPositionEmbeddings = 1024, TieWordEmbeddings = true,
};
using var random = LlamaForCausalLM.Create(randomConfig, seed: 1);

var stepByModel = new System.Collections.Generic.Dictionary<string, double>();
report.AppendLine("## Results");
report.AppendLine();
report.AppendLine(culture, $"Greedy decoding of {tokens} tokens after BOS, best of {rounds} interleaved rounds. *Baseline* is the same model decoded through the");
report.AppendLine("module forward pass (`LlamaForCausalLM.Forward` with a `KvCache`, one token at a time), measured in the same run;");
report.AppendLine("*generation* is `TextGenerator.Generate` (fused `LlamaDecoder` + CPU sampling + logprobs + text).");
report.AppendLine();
report.AppendLine("| model | params | threads | baseline tok/s | generation tok/s (wall) | × baseline | tok/s per CPU-second | µs per decoder step | forward / sampling+logprobs / text (ms per token) |");
report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var (name, model) in new[] { ("stories260K", stories), ("random ~10M", random) }.Where(m => only.Contains(m.Item1.Split(' ')[0], StringComparison.Ordinal)))
    foreach (var threads in threadCounts)
    {
        stepByModel[name] = 0;
        set_num_threads(threads);
        // Rounds interleave the three measurements so that each sees the same load on a shared machine; best of each.
        double baseline = 0, wall = 0, cpu = 0, step = double.MaxValue;
        GenerationTimings timings = new(0, 0, 0, 0);
        for (var r = 0; r < rounds; r++)
        {
            baseline = Math.Max(baseline, BaselineTokensPerSecond(model, tokens, 1));
            var (w, c, t) = Generation(model, tokenizer, tokens, 1);
            if (w > wall) (wall, timings) = (w, t);
            cpu = Math.Max(cpu, c);
            step = Math.Min(step, StepMicroseconds(model, tokens, 1));
        }
        var perToken = FormattableString.Invariant($"{timings.Forward * 1e3 / tokens:F3} / {timings.Sampling * 1e3 / tokens:F3} / {timings.Decoding * 1e3 / tokens:F4}");
        stepByModel[name] = step;
        report.AppendLine(culture, $"| {name} | {model.ParameterCount:N0} | {threads} | {baseline:F0} | {wall:F0} | {wall / baseline:F1} | {cpu:F0} | {step:F0} | {perToken} |");
        Console.WriteLine($"{name} threads={threads}: baseline {baseline:F0} tok/s, generation {wall:F0} tok/s wall, {cpu:F0} tok/s per CPU-s, step {step:F0} µs; {timings}");
    }

var loadAfter = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
report.AppendLine();
report.AppendLine(culture, $"Load average after the run: `{loadAfter}`. For scale: llama2.c's `run` (C, single thread) decodes stories260K at about 4,300 tok/s on this machine when idle (figure from the issue, not measured in this run).");
report.AppendLine();
report.AppendLine("## Where the per-token time goes");
report.AppendLine();
var ops = 16 * stories.Config.NumHiddenLayers + 10;
var storiesStep = stepByModel.TryGetValue("stories260K", out var measured) ? measured : 0;
var flopMicros = 2.0 * stories.ParameterCount / (gflops * 1e9) * 1e6;
report.AppendLine(culture, $"- **Forward step.** `LlamaDecoder.Step` issues {ops} libtorch ops per stories260K token: per layer 16 (two `normalize` that carry the RMSNorm, four in-place `addmv_` matrix-vector products into preallocated buffers, rotary as an in-place `mul_` + `addcmul_` against stored rotate-half rows, two in-place `index_copy_` into the preallocated KV cache, two cache views, one SDPA, one view, in-place SiLU and product), plus about 10 per token (embedding row, rotary rows, position, final norm and head, log-softmax, copy-out). Six of the 16 allocate a tensor; the rest work in place.");
report.AppendLine(culture, $"- The arithmetic is ~{2.0 * stories.ParameterCount / 1e6:F1} MFLOP per token: at the measured {gflops:F1} GFLOP/s (a matrix-matrix peak; matrix-vector products run slower, bound by memory) that is ~{flopMicros:F0} µs of the {storiesStep:F0} µs step. The rest — about {(storiesStep - flopMicros) / ops:F1} µs per op on average — is TorchSharp/libtorch per-op overhead (P/Invoke, dispatcher, tensor handles; SDPA, `normalize` and `addmv_` cost more than the {opCost:F1} µs floor measured above) plus, on a loaded machine, waiting for a core. So stories260K's speed is set by the op count, which is why the decoder fuses and works in place.");
report.AppendLine("- **Baseline.** The module path (`LlamaForCausalLM.Forward` one token at a time) issues about 50 ops per layer — RMSNorm as 6, separate q/k/v projections, rotary as 7 ops each for q and k, reshapes, a dispose scope per module — hence the × baseline column.");
report.AppendLine("- **~10M model.** Each token reads all ~38 MB of weights (fp32) once: the step is bound by memory bandwidth, not op count, so the decoder stops storing rotate-half rows for models this wide (they would add ~12% to the bytes read per token) and computes them per token instead (two more small ops per layer). A second libtorch thread helps only when cores are free: on this shared 2-core machine it makes things worse (OpenMP threads wait for each other).");
report.AppendLine("- **Sampling, logprobs and text.** libtorch computes the log-softmax before the single copy of the vocabulary row to the CPU; argmax or the seeded sampler, the chosen token's logprob and the top-k alternatives then run in C# on that copy, and the token's bytes are appended to the text. Together they are a few microseconds per token at vocabulary 512 (last column, second and third figures).");
report.AppendLine("- **Prefill.** The prompt goes through the batched module forward pass once (here just BOS), then decoding continues from its KV cache.");
Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
await File.WriteAllTextAsync(outPath, report.ToString());
Console.WriteLine($"wrote {outPath}");

static (double Wall, double Cpu, GenerationTimings Timings) Generation(LlamaForCausalLM model, ITextTokenizer tokenizer, int tokens, int rounds)
{
    using var weights = new LlamaInferenceWeights(model);
    var p = new SamplingParameters { Temperature = 0, MaxTokens = tokens };
    TextGenerator.Generate(weights, tokenizer, [1], p); // warm-up: JIT and allocator
    double bestWall = 0, bestCpu = 0;
    GenerationTimings? best = null;
    for (var r = 0; r < rounds; r++)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var result = TextGenerator.Generate(weights, tokenizer, [1], p);
        var wall = result.CompletionTokens / sw.Elapsed.TotalSeconds;
        var cpu = result.CompletionTokens / (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        if (wall > bestWall) (bestWall, best) = (wall, result.Timings);
        bestCpu = Math.Max(bestCpu, cpu);
    }
    return (bestWall, bestCpu, best!);
}

static double BaselineTokensPerSecond(LlamaForCausalLM model, int tokens, int rounds)
{
    var best = 0.0;
    for (var r = 0; r <= rounds; r++)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var cache = new KvCache(model.Config, 1, tokens + 1);
        var id = 1L;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < tokens; i++)
        {
            using var step = NewDisposeScope();
            var logits = model.Forward(tensor(new[] { id }, [1, 1]), cache).Logits[0, -1].data<float>().ToArray();
            id = Sampler.Argmax(logits);
        }
        if (r > 0) best = Math.Max(best, tokens / sw.Elapsed.TotalSeconds); // round 0 warms up
    }
    return best;
}

static double StepMicroseconds(LlamaForCausalLM model, int steps, int rounds)
{
    using var weights = new LlamaInferenceWeights(model);
    using var decoder = new LlamaDecoder(weights, steps + 1);
    var logits = new float[model.Config.VocabSize];
    var best = double.MaxValue;
    for (var r = 0; r <= rounds; r++)
    {
        decoder.Cache.Reset();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++) decoder.Step(1 + i % 100, logits);
        if (r > 0) best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / steps);
    }
    return best;
}

static double MeasureOpCost()
{
    using var a = randn(64);
    using var b = randn(64);
    using var inference = inference_mode();
    var best = double.MaxValue;
    for (var r = 0; r < 5; r++)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 20000; i++)
        {
            using var scope = NewDisposeScope();
            _ = a.add(b);
        }
        best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / 20000);
    }
    return best;
}

static string CpuModel()
{
    if (!File.Exists("/proc/cpuinfo")) return RuntimeInformation.ProcessArchitecture.ToString();
    var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
    return line is null ? "unknown CPU" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
    return Directory.GetCurrentDirectory();
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

string ArgString(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
