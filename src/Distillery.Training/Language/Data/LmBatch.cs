using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Data;

/// <summary>
/// A right-padded language-model micro-batch, already shifted: <see cref="Inputs"/>[b, t] predicts <see cref="Targets"/>[b, t]
/// (= the row's token t + 1). <see cref="LossMask"/> is true exactly where that target is a completion token, so prompt
/// tokens and padding are out of every loss. Top-k teacher targets, where present, sit at the same positions.
/// </summary>
public sealed class LmBatch : ITrainingBatch
{
    private LmBatch(Tensor inputs, Tensor targets, Tensor lossMask, Tensor? topKIds, Tensor? topKLogprobs, Tensor? topKMask,
        IReadOnlyList<LmExample> examples, int epoch, int index, long count)
    {
        Inputs = inputs;
        Targets = targets;
        LossMask = lossMask;
        TopKIds = topKIds;
        TopKLogprobs = topKLogprobs;
        TopKMask = topKMask;
        Examples = examples;
        Epoch = epoch;
        Index = index;
        Count = count;
    }

    /// <summary>Input ids, (B, T) int64: each row's tokens but the last, padded with 0.</summary>
    public Tensor Inputs { get; }

    /// <summary>Target ids, (B, T) int64: each row's tokens shifted left by one, padded with 0.</summary>
    public Tensor Targets { get; }

    /// <summary>(B, T) bool: the target is a completion token (not prompt, not padding).</summary>
    public Tensor LossMask { get; }

    /// <summary>The teacher's top-k ids at each target position, (B, T, k) int64, or null without top-k data.</summary>
    public Tensor? TopKIds { get; }

    /// <summary>The teacher's log-probabilities of those ids, (B, T, k) float32, −∞ where padded.</summary>
    public Tensor? TopKLogprobs { get; }

    /// <summary>(B, T) bool: the position has top-k alternatives (a subset of <see cref="LossMask"/>).</summary>
    public Tensor? TopKMask { get; }

    /// <summary>The examples in this batch, in row order.</summary>
    public IReadOnlyList<LmExample> Examples { get; }

    /// <summary>The epoch this batch was drawn in (seeds on-policy sampling).</summary>
    public int Epoch { get; }

    /// <summary>The batch's index in its epoch.</summary>
    public int Index { get; }

    /// <inheritdoc />
    public long Count { get; }

    /// <summary>Pads, shifts and masks examples into one batch on <paramref name="device"/> (CPU when null).</summary>
    public static LmBatch Collate(IReadOnlyList<LmExample> examples, int epoch = 0, int index = 0, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example", nameof(examples));
        var b = examples.Count;
        var t = Math.Max(1, examples.Max(e => e.Ids.Length) - 1);
        var inputs = new long[b * t];
        var targets = new long[b * t];
        var mask = new bool[b * t];
        var k = examples.Where(e => e.TopK is not null).SelectMany(e => e.TopK!).Select(a => a?.Ids.Length ?? 0).DefaultIfEmpty(0).Max();
        var withTopK = k > 0;
        var topIds = withTopK ? new long[b * t * k] : null;
        var topLogprobs = withTopK ? new float[b * t * k] : null;
        var topMask = withTopK ? new bool[b * t] : null;
        if (topLogprobs is not null) Array.Fill(topLogprobs, float.NegativeInfinity);
        long count = 0;
        for (var row = 0; row < b; row++)
        {
            var e = examples[row];
            for (var pos = 0; pos + 1 < e.Ids.Length; pos++)
            {
                var at = row * t + pos;
                inputs[at] = e.Ids[pos];
                targets[at] = e.Ids[pos + 1];
                var completionIndex = pos + 1 - e.PromptLength; // which completion token the target is
                if (completionIndex < 0) continue;
                mask[at] = true;
                count++;
                if (!withTopK || e.TopK is null || completionIndex >= e.TopK.Count || e.TopK[completionIndex] is not { } alternatives) continue;
                topMask![at] = true;
                for (var j = 0; j < alternatives.Ids.Length; j++)
                {
                    topIds![at * k + j] = alternatives.Ids[j];
                    topLogprobs![at * k + j] = alternatives.Logprobs[j];
                }
            }
        }
        device ??= CPU;
        return new LmBatch(
            tensor(inputs, [b, t], ScalarType.Int64).to(device),
            tensor(targets, [b, t], ScalarType.Int64).to(device),
            tensor(mask, [b, t]).to(device),
            topIds is null ? null : tensor(topIds, [b, t, k], ScalarType.Int64).to(device),
            topLogprobs is null ? null : tensor(topLogprobs, [b, t, k], ScalarType.Float32).to(device),
            topMask is null ? null : tensor(topMask, [b, t]).to(device),
            examples, epoch, index, count);
    }
}
