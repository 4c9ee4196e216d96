using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;

// The on-policy student's batch sampling (issue 16): BatchSampler through the fused batch decoder (a fresh weight snapshot
// per batch, as on-policy training takes one) against the model's own forward pass at every position (the path before
// the fused decoder), alternating batch by batch, on story openings at temperature 1. Also times the snapshot alone and
// counts the rows whose samples are identical between the two paths.
// Usage: dotnet run -c Release --project bench/SamplerBench -- --student SPEC [--prompts FILE] [--batches 20] [--batch 16] [--max-new 96]
var culture = CultureInfo.InvariantCulture;
var spec = Flag("--student") ?? throw new ArgumentException("--student SPEC is required");
var promptsFile = Flag("--prompts") ?? Path.Combine(AppContext.BaseDirectory, "../../../../../demo/story-openings.txt");
var batches = int.Parse(Flag("--batches") ?? "20", culture);
var batchSize = int.Parse(Flag("--batch") ?? "16", culture);
var maxNew = int.Parse(Flag("--max-new") ?? "96", culture);
TorchRuntime.EnsureLoaded();

using var bundle = await ModelLoader.LoadAsync(spec);
var model = bundle.Model;
var stops = new HashSet<int>(bundle.Tokenizer.StopIds);
stops.UnionWith(model.Config.EosTokenIds);
var openings = File.ReadAllLines(promptsFile).Where(l => l.Length > 0).Select(l => bundle.Tokenizer.Encode(l, addBos: true)).ToArray();
IReadOnlyList<IReadOnlyList<int>> Batch(int b) => [.. Enumerable.Range(0, batchSize).Select(i => openings[(b * batchSize + i) % openings.Length])];

int[][] Fused(int b) => BatchSampler.Sample(model, Batch(b), maxNew, 1.0, new Random(b), stops);
int[][] Module(int b) => BatchSampler.Sample(model.Config, (rows, capacity) => new ModuleBatchDecoder(model, rows, capacity), Batch(b), maxNew, 1.0, new Random(b), stops);

Fused(0); // warm-up
Module(0);
var snapshot = Stopwatch.StartNew();
for (var i = 0; i < batches; i++) new LlamaInferenceWeights(model).Dispose();
var snapshotMs = snapshot.Elapsed.TotalMilliseconds / batches;
double fusedMs = 0, moduleMs = 0;
long tokens = 0, sameRows = 0;
for (var b = 0; b < batches; b++)
{
    var clock = Stopwatch.StartNew();
    var fast = Fused(b);
    fusedMs += clock.Elapsed.TotalMilliseconds;
    clock.Restart();
    var slow = Module(b);
    moduleMs += clock.Elapsed.TotalMilliseconds;
    tokens += slow.Sum(r => r.Length);
    sameRows += fast.Zip(slow).Count(p => p.First.SequenceEqual(p.Second));
}
Console.WriteLine(string.Create(culture,
    $"{spec}: {model.Config.ParameterCount:N0} parameters, {batches} batches of {batchSize}, up to {maxNew} new tokens, {tokens / (double)batches:F0} sampled tokens per batch"));
Console.WriteLine(string.Create(culture, $"snapshot (LlamaInferenceWeights): {snapshotMs:F2} ms"));
Console.WriteLine(string.Create(culture, $"fused batch decoder, snapshot included: {fusedMs / batches:F1} ms per batch"));
Console.WriteLine(string.Create(culture, $"model forward pass per position: {moduleMs / batches:F1} ms per batch"));
Console.WriteLine(string.Create(culture, $"new / old: {fusedMs / moduleMs:P0}; rows with identical samples: {sameRows}/{batches * batchSize}"));
Console.WriteLine(string.Create(culture, $"per position, steps alone: fused {StepMicroseconds(true):F0} µs, forward pass {StepMicroseconds(false):F0} µs; drawing {batchSize} ids at temperature 1: {DrawMicroseconds():F0} µs"));
return 0;

// Sampler.Sample on each row of one position's logits, best of three rounds of maxNew positions.
double DrawMicroseconds()
{
    var logits = new float[batchSize * model.Config.VocabSize];
    using (var decoder = new ModuleBatchDecoder(model, batchSize, 2)) decoder.Prefill(Enumerable.Repeat(1L, batchSize).ToArray(), 1, logits);
    var random = new Random(0);
    var best = double.MaxValue;
    for (var round = 0; round < 3; round++)
    {
        var clock = Stopwatch.StartNew();
        for (var t = 0; t < maxNew; t++)
            for (var r = 0; r < batchSize; r++) Sampler.Sample(logits.AsSpan(r * model.Config.VocabSize, model.Config.VocabSize), 1.0, 0, 1.0, random);
        best = Math.Min(best, clock.Elapsed.TotalMicroseconds / maxNew);
    }
    return best;
}

// One decoder's Prefill then maxNew Steps of fixed ids, best of three: the decoding engine without sampling.
double StepMicroseconds(bool fused)
{
    var best = double.MaxValue;
    var logits = new float[batchSize * model.Config.VocabSize];
    var ids = Enumerable.Repeat(1L, batchSize).ToArray();
    for (var round = 0; round < 3; round++)
    {
        using var decoder = fused ? (IBatchDecoder)LlamaBatchDecoder.Snapshot(model, batchSize, maxNew + 1) : new ModuleBatchDecoder(model, batchSize, maxNew + 1);
        using var threads = IntraOpThreads.ForDecoding(model.Config, batchSize);
        decoder.Prefill(ids, 1, logits);
        var clock = Stopwatch.StartNew();
        for (var t = 0; t < maxNew; t++) decoder.Step(ids, logits);
        best = Math.Min(best, clock.Elapsed.TotalMicroseconds / maxNew);
    }
    return best;
}

string? Flag(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
