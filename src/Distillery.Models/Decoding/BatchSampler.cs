using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Decoding;

/// <summary>
/// Samples continuations of many prompts at once with the model's live weights (a model being trained samples as it is
/// now), without gradients: the on-policy student's samples and the evaluation's sample-level KL.
/// </summary>
public static class BatchSampler
{
    /// <summary>
    /// One continuation per prompt, the whole batch decoded side by side through one KV cache: up to
    /// <paramref name="maxNewTokens"/> ids each, drawn at <paramref name="temperature"/> (0 is greedy), each ending early
    /// (and including) a stop id. Prompts of different lengths need no padding: every row starts from the shortest prompt's
    /// length, and a row whose prompt is longer is fed its own next prompt token until its prompt is used up, so each row
    /// sees exactly its own tokens at their true positions. Draws come from <paramref name="random"/> row by row at each
    /// position, so a seed gives the same samples. Decodes with <see cref="LlamaBatchDecoder"/> over a fresh snapshot of
    /// the weights (attached LoRA adapters included).
    /// </summary>
    public static int[][] Sample(LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, double temperature, Random random, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Sample(model.Config, (rows, capacity) => LlamaBatchDecoder.Snapshot(model, rows, capacity), prompts, maxNewTokens, temperature, random, stopIds);
    }

    /// <summary>
    /// As <see cref="Sample(LlamaForCausalLM, IReadOnlyList{IReadOnlyList{int}}, int, double, Random, IReadOnlyCollection{int})"/>,
    /// decoding with the decoder that <paramref name="open"/> makes for (rows, capacity in positions), such as
    /// <see cref="ModuleBatchDecoder"/>, the model's own forward pass at every position.
    /// </summary>
    public static int[][] Sample(LlamaConfig config, Func<int, int, IBatchDecoder> open, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, double temperature, Random random, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(stopIds);
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("a prompt is empty", nameof(prompts));
        var context = config.MaxPositionEmbeddings;
        var budgets = prompts.Select(p => Math.Max(0, Math.Min(maxNewTokens, context - p.Count))).ToArray();
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var done = budgets.Select(b => b < 1).ToArray();
        if (done.All(d => d)) return [.. generated.Select(g => g.ToArray())];

        int rows = prompts.Count, shortest = prompts.Min(p => p.Count), vocab = config.VocabSize;
        var end = prompts.Select((p, i) => p.Count + budgets[i]).Max(); // the last position any row needs
        using var threads = IntraOpThreads.ForDecoding(config, rows);
        using var noGrad = no_grad();
        using var decoder = open(rows, end);
        var first = new long[rows * shortest]; // (B, shortest), row-major
        for (var r = 0; r < rows; r++)
            for (var i = 0; i < shortest; i++) first[r * shortest + i] = prompts[r][i];
        var logits = new float[rows * vocab]; // (B, V): the next position's distributions
        decoder.Prefill(first, shortest, logits);
        var feed = new long[rows];
        for (var position = shortest; position < end; position++)
        {
            for (var r = 0; r < rows; r++)
            {
                var prompt = prompts[r];
                if (position < prompt.Count) { feed[r] = prompt[position]; continue; }
                if (done[r]) { feed[r] = 0; continue; } // a finished row idles on a harmless id; nothing reads its output
                var id = Sampler.Sample(logits.AsSpan(r * vocab, vocab), temperature, 0, 1.0, random);
                generated[r].Add(id);
                done[r] = generated[r].Count >= budgets[r] || stopIds.Contains(id);
                feed[r] = id;
            }
            if (done.All(d => d) || position + 1 >= end) break;
            decoder.Step(feed, logits);
        }
        return [.. generated.Select(g => g.ToArray())];
    }
}
