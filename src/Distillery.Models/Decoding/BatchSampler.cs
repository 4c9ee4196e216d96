using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Decoding;

/// <summary>
/// Samples continuations of many prompts at once through the model's own forward pass (so a model being trained samples
/// with its live weights), without gradients: the on-policy student's samples and the evaluation's sample-level KL.
/// </summary>
public static class BatchSampler
{
    /// <summary>
    /// One continuation per prompt, the whole batch decoded side by side through one KV cache: up to
    /// <paramref name="maxNewTokens"/> ids each, drawn at <paramref name="temperature"/> (0 is greedy), each ending early
    /// (and including) a stop id. Prompts of different lengths need no padding: every row starts from the shortest prompt's
    /// length, and a row whose prompt is longer is fed its own next prompt token until its prompt is used up, so each row
    /// sees exactly its own tokens at their true positions. Draws come from <paramref name="random"/> row by row at each
    /// position, so a seed gives the same samples.
    /// </summary>
    public static int[][] Sample(LlamaForCausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, double temperature, Random random, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(stopIds);
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("a prompt is empty", nameof(prompts));
        var context = model.Config.MaxPositionEmbeddings;
        var budgets = prompts.Select(p => Math.Max(0, Math.Min(maxNewTokens, context - p.Count))).ToArray();
        var generated = prompts.Select(_ => new List<int>()).ToArray();
        var done = budgets.Select(b => b < 1).ToArray();
        if (done.All(d => d)) return [.. generated.Select(g => g.ToArray())];

        int rows = prompts.Count, shortest = prompts.Min(p => p.Count);
        var end = prompts.Select((p, i) => p.Count + budgets[i]).Max(); // the last position any row needs
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var threads = IntraOpThreads.ForDecoding(model.Config, rows);
        var device = model.OutputWeight.device;
        using var cache = new KvCache(model.Config, rows, end, device);
        var first = new long[rows * shortest];
        for (var r = 0; r < rows; r++)
            for (var i = 0; i < shortest; i++) first[r * shortest + i] = prompts[r][i];
        var next = tensor(first, [rows, shortest], ScalarType.Int64).to(device); // (B, shortest)
        var feed = new long[rows];
        for (var position = shortest; position < end; position++)
        {
            using var step = NewDisposeScope();
            var logits = model.Forward(next, cache).Logits[.., -1].to(ScalarType.Float32).cpu(); // (B, V): the next position's distribution
            var all = logits.data<float>().ToArray();
            var vocab = (int)logits.shape[1];
            for (var r = 0; r < rows; r++)
            {
                var prompt = prompts[r];
                if (position < prompt.Count) { feed[r] = prompt[position]; continue; }
                if (done[r]) { feed[r] = 0; continue; } // a finished row idles on a harmless id; nothing reads its output
                var id = Sampler.Sample(all.AsSpan(r * vocab, vocab), temperature, 0, 1.0, random);
                generated[r].Add(id);
                done[r] = generated[r].Count >= budgets[r] || stopIds.Contains(id);
                feed[r] = id;
            }
            if (done.All(d => d) || position + 1 >= end) break;
            next = tensor(feed, [rows, 1], ScalarType.Int64).to(device).MoveToOuterDisposeScope(); // (B, 1)
        }
        return [.. generated.Select(g => g.ToArray())];
    }
}
