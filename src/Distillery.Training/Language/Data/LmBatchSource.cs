using System;
using System.Collections.Generic;
using Distillery.Core.Hashing;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Data;

/// <summary>
/// Language-model micro-batches over tokenised examples: reshuffled every epoch by a permutation seeded with (seed, epoch),
/// so batch (epoch, index) is the same in every process and a resumed run sees exactly the data an uninterrupted one would.
/// </summary>
public sealed class LmBatchSource : IBatchSource<LmBatch>
{
    private readonly IReadOnlyList<LmExample> examples;
    private readonly int batchSize;
    private readonly bool shuffle;
    private readonly Device? device;
    private readonly EpochPermutations permutations;

    /// <summary>Creates the source.</summary>
    /// <param name="examples">The examples (at least one).</param>
    /// <param name="batchSize">Examples per micro-batch (the last one of an epoch may be smaller).</param>
    /// <param name="seed">Seed for the per-epoch shuffle.</param>
    /// <param name="shuffle">Whether to reshuffle every epoch (false: file order, for evaluation).</param>
    /// <param name="device">Where batches are built; CPU when null.</param>
    public LmBatchSource(IReadOnlyList<LmExample> examples, int batchSize, long seed, bool shuffle = true, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (examples.Count == 0) throw new ArgumentException("no examples", nameof(examples));
        this.examples = examples;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.device = device;
        BatchesPerEpoch = (examples.Count + batchSize - 1) / batchSize;
        permutations = new EpochPermutations(examples.Count, epoch => SeedMix.Of(seed, epoch, -1));
    }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <summary>The examples of micro-batch (epoch, index), without building tensors (for counting tokens per teacher).</summary>
    public IReadOnlyList<LmExample> ExamplesAt(int epoch, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (index < 0 || index >= BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(index), index, $"must lie in [0, {BatchesPerEpoch})");
        var start = index * batchSize;
        var length = Math.Min(batchSize, examples.Count - start);
        var order = shuffle ? permutations.For(epoch) : null;
        var chosen = new LmExample[length];
        for (var i = 0; i < length; i++) chosen[i] = examples[order is null ? start + i : order[start + i]];
        return chosen;
    }

    /// <inheritdoc />
    public LmBatch GetBatch(int epoch, int index) => LmBatch.Collate(ExamplesAt(epoch, index), epoch, index, device);
}
