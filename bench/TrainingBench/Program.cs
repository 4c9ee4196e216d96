using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Distillery.Models.Llama;
using Distillery.Models.Lora;
using Distillery.Models.Runtime;
using Distillery.Training.Language.Data;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Training throughput and model FLOPs utilisation of a ~10M-parameter student at sequence length 256, batch 8, against
// the fp32 matmul rate measured in the same run (what `distill doctor` reports). Two loops over the same model and data:
// a plain TorchSharp step (forward, masked cross-entropy, backward, AdamW) and the Distillery trainer (LmBatchSource,
// SftObjective, clipping, schedule, metrics); the difference is the trainer's overhead.
//
// Usage: dotnet run -c Release --project bench/TrainingBench [-- STEPS]
//        ... -- STEPS --config FILE [--layers N] [--batch B] [--seq-len T] [--out FILE] [--lora-rank R]
// With --config (a Hugging Face config.json, e.g. SmolLM2-135M's) the student is that architecture with random weights and
// the table goes to --out (default bench/results/training-real.md). With --lora-rank R a third row trains rank-R adapters on
// q, k, v, o of the frozen student through the same trainer (what `distill train --lora-rank R` optimises).
TorchRuntime.EnsureLoaded();
var steps = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? int.Parse(args[0], CultureInfo.InvariantCulture) : 12;
var configPath = Flag("--config");
var loraRank = Flag("--lora-rank") is { } rankText ? int.Parse(rankText, CultureInfo.InvariantCulture) : (int?)null;
var batch = int.Parse(Flag("--batch") ?? "8", CultureInfo.InvariantCulture);
var seqLen = int.Parse(Flag("--seq-len") ?? "256", CultureInfo.InvariantCulture);
const int warmupSteps = 2;
var config = configPath is null
    ? new LlamaConfig
    {
        HiddenSize = 384, IntermediateSize = 1024, NumHiddenLayers = 6, NumAttentionHeads = 6, NumKeyValueHeads = 6,
        VocabSize = 512, MaxPositionEmbeddings = 512, TieWordEmbeddings = true,
    }.Validate("bench")
    : LlamaConfig.Parse(File.ReadAllText(configPath), configPath);
if (Flag("--layers") is { } layerCount) config = config with { NumHiddenLayers = int.Parse(layerCount, CultureInfo.InvariantCulture) };
var vocab = config.VocabSize;
var modelName = configPath is null ? "random ~10M" : $"{Path.GetFileNameWithoutExtension(configPath)} (random weights{(Flag("--layers") is { } l ? $", {l} layers" : "")})";

var gflops = MatmulBenchmark.MeasureGflops();
Console.WriteLine($"fp32 matmul: {gflops:F1} GFLOP/s on {Environment.ProcessorCount} threads");

// Model FLOPs per token (Kaplan et al. 2020 / PaLM appendix B): 6 × (non-embedding parameters + the LM-head matmul)
// for the dense layers, forward and backward, plus 12 · L · T · d for attention scores and values (causal halves aside).
long d = config.HiddenSize, layers = config.NumHiddenLayers;
var nonEmbedding = config.ParameterCount - (long)vocab * d;
var flopsPerToken = 6.0 * (nonEmbedding + (long)vocab * d) + 12.0 * layers * seqLen * d;
Console.WriteLine($"student: {config.ParameterCount:N0} parameters; {flopsPerToken / 1e6:F1} MFLOP per trained token");

var random = new Random(1);
var examples = Enumerable.Range(0, 64).Select(i =>
    new LmExample([.. Enumerable.Range(0, seqLen + 1).Select(_ => random.Next(3, vocab))], 1, null, "bench", $"r{i}")).ToList();

// 1. The plain step: one batch reused, nothing but the maths.
double plainTokensPerSecond;
{
    using var model = LlamaForCausalLM.Create(config, 1);
    using var optimizer = new AdamW(model.parameters(), 1e-4);
    var batchTensors = LmBatch.Collate(examples.Take(batch).ToList());
    var clock = new Stopwatch();
    for (var step = 0; step < steps + warmupSteps; step++)
    {
        if (step == warmupSteps) clock.Start();
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var logits = model.Forward(batchTensors.Inputs).Logits;
        var loss = DistillationLosses.CrossEntropy(logits, batchTensors.Targets, batchTensors.LossMask, batchTensors.Count);
        loss.backward();
        optimizer.step();
        _ = loss.item<float>();
    }
    plainTokensPerSecond = (double)steps * batch * seqLen / clock.Elapsed.TotalSeconds;
}

// 2. The trainer, as distill train runs it (SFT objective; checkpoint only at the end, no plot); 3. the same with LoRA adapters.
var trainerTokensPerSecond = TrainerTokensPerSecond(null);
var loraTokensPerSecond = loraRank is { } r ? TrainerTokensPerSecond(new LoraSettings { Rank = r }) : (double?)null;

double TrainerTokensPerSecond(LoraSettings? lora)
{
    var outDir = Directory.CreateTempSubdirectory("training-bench-").FullName;
    try
    {
        using var student = LlamaForCausalLM.Create(config, 1);
        using var adapters = lora is null ? null : LoraAdapters.Attach(student, lora, 1);
        var model = new DistillationStudent(student);
        model.Settle();
        var times = new List<(int Step, TimeSpan At)>();
        var clock = Stopwatch.StartNew();
        var trainer = new Trainer<LmBatch>(adapters is null ? model : new LoraTrainedModules(adapters, null), new SftObjective(student), new LmBatchSource(examples, batch, 1), null, new TrainerOptions
        {
            OutputDirectory = outDir, MaxSteps = steps + warmupSteps, LearningRate = 1e-4, WarmupSteps = 1, CheckpointEvery = 0,
        });
        trainer.Run(new Recorder(times, clock));
        // The last step's report comes after the run's final resume state is written (model and AdamW moments: 1.6 GB
        // for a 135M model), which is not a training step's cost: time up to the step before it.
        var first = times.First(t => t.Step == warmupSteps);
        var last = times.Last(t => t.Step < steps + warmupSteps);
        return (double)(last.Step - first.Step) * batch * seqLen / (last.At - first.At).TotalSeconds;
    }
    finally
    {
        Directory.Delete(outDir, recursive: true);
    }
}

double Mfu(double tokensPerSecond) => tokensPerSecond * flopsPerToken / (gflops * 1e9);
var plainGflops = plainTokensPerSecond * flopsPerToken / 1e9;
var trainerGflops = trainerTokensPerSecond * flopsPerToken / 1e9;
Console.WriteLine($"plain step:  {plainTokensPerSecond:N0} tokens/s = {plainGflops:F1} GFLOP/s = {Mfu(plainTokensPerSecond):P1} MFU");
Console.WriteLine($"trainer:     {trainerTokensPerSecond:N0} tokens/s = {trainerGflops:F1} GFLOP/s = {Mfu(trainerTokensPerSecond):P1} MFU ({trainerTokensPerSecond / plainTokensPerSecond:P1} of the plain step)");
if (loraTokensPerSecond is { } loraRate) Console.WriteLine($"LoRA r={loraRank}: {loraRate:N0} tokens/s ({loraRate / trainerTokensPerSecond:P1} of full training)");
// A LoRA step still runs the whole forward and backward through the frozen weights (for the activations' gradients); it saves
// the weight gradients of the frozen matrices and their optimiser update, so its model FLOPs are about 4/6 of a full step's.
var loraRow = loraTokensPerSecond is { } lr
    ? string.Create(CultureInfo.InvariantCulture, $"\n| Distillery trainer, LoRA r={loraRank} on q,k,v,o (`--lora-rank {loraRank}`) | {lr:N0} | | {lr / trainerTokensPerSecond:P1} of full training's tokens/s |")
    : "";

var cpu = File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
    : RuntimeInformation.ProcessArchitecture.ToString();
var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
var results = Flag("--out") ?? Path.Combine(FindBench(), "results", configPath is null ? "training.md" : "training-real.md");
Directory.CreateDirectory(Path.GetDirectoryName(results)!);
File.WriteAllText(results, string.Create(CultureInfo.InvariantCulture, $"""
    # Training throughput and MFU

    Written by `bench/TrainingBench` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {cpu}, {Environment.ProcessorCount} threads,
    {RuntimeInformation.OSDescription}, TorchSharp CPU; 1-minute load average at the end of the run: {load}.

    Student: {modelName}: Llama, d={config.HiddenSize}, {config.NumHiddenLayers} layers, {config.NumAttentionHeads} heads, SwiGLU {config.IntermediateSize}, vocab {vocab}
    (tied), {config.ParameterCount:N0} parameters. Batch {batch} × {seqLen} tokens, fp32, AdamW, {steps} timed steps after {warmupSteps} warm-up steps.
    Model FLOPs per token: 6·(non-embedding params + LM head) + 12·L·T·d = {flopsPerToken / 1e6:F1} MFLOP.

    | | tokens/s | GFLOP/s | MFU vs measured matmul |
    | --- | ---: | ---: | ---: |
    | fp32 matmul (MatmulBenchmark, 1536², same run) | | {gflops:F1} | 100% |
    | plain TorchSharp step (same model, one batch) | {plainTokensPerSecond:N0} | {plainGflops:F1} | {Mfu(plainTokensPerSecond):P1} |
    | Distillery trainer (`distill train --mode sft` path) | {trainerTokensPerSecond:N0} | {trainerGflops:F1} | {Mfu(trainerTokensPerSecond):P1} |{loraRow}

    Trainer / plain step: {trainerTokensPerSecond / plainTokensPerSecond:P1} (target: at least 90%).
    """));
Console.WriteLine($"wrote {results}");
return 0;

string? Flag(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string FindBench()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (Directory.Exists(Path.Combine(dir.FullName, "bench")) && File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return Path.Combine(dir.FullName, "bench");
    return "bench";
}

internal sealed class Recorder(List<(int Step, TimeSpan At)> times, Stopwatch clock) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => times.Add((value.Step, clock.Elapsed));
}
