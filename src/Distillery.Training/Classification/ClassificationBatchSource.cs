using System;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Classification;

/// <summary>Random translation of square images by up to a few pixels, the "jittered inputs" of Hinton et al. (2015, §3), and optionally random left–right mirroring.</summary>
/// <param name="Side">Image side in pixels (inputs are Side × Side, row-major).</param>
/// <param name="MaxShift">Largest shift in each direction (0: none).</param>
/// <param name="Mirror">Whether half the images, at random, are mirrored left to right (label-preserving for clothes, not for digits).</param>
public sealed record ImageJitter(int Side, int MaxShift, bool Mirror = false);

/// <summary>
/// Micro-batches over in-memory examples: reshuffled every epoch by a permutation seeded with (seed, epoch), optionally
/// jittered with a generator seeded by (seed, epoch, index), so any batch can be rebuilt exactly on resume.
/// </summary>
public sealed class ClassificationBatchSource : IBatchSource<ClassificationBatch>
{
    private readonly Tensor inputs, labels;
    private readonly Tensor? teacherLogits;
    private readonly int batchSize;
    private readonly long seed;
    private readonly bool shuffle;
    private readonly ImageJitter? jitter;
    private readonly EpochPermutations permutations;

    /// <summary>Creates the source; the tensors are kept (not copied) and must outlive it.</summary>
    /// <param name="inputs">Features, (N, D) float32.</param>
    /// <param name="labels">Class ids, (N) int64.</param>
    /// <param name="teacherLogits">Teacher logits, (N, C), or null.</param>
    /// <param name="batchSize">Examples per micro-batch (the last one of an epoch may be smaller).</param>
    /// <param name="seed">Seed for shuffling and jitter.</param>
    /// <param name="shuffle">Whether to reshuffle every epoch.</param>
    /// <param name="jitter">Random image shifts, or null.</param>
    public ClassificationBatchSource(Tensor inputs, Tensor labels, Tensor? teacherLogits, int batchSize, long seed, bool shuffle = true, ImageJitter? jitter = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (inputs.shape[0] != labels.shape[0]) throw new ArgumentException($"{inputs.shape[0]} inputs but {labels.shape[0]} labels", nameof(labels));
        if (teacherLogits is not null && teacherLogits.shape[0] != labels.shape[0]) throw new ArgumentException($"{teacherLogits.shape[0]} teacher rows but {labels.shape[0]} labels", nameof(teacherLogits));
        if (jitter is not null && jitter.Side * jitter.Side != inputs.shape[1]) throw new ArgumentException($"jitter side {jitter.Side} does not match {inputs.shape[1]} features", nameof(jitter));
        this.inputs = inputs;
        this.labels = labels;
        this.teacherLogits = teacherLogits;
        this.batchSize = batchSize;
        this.seed = seed;
        this.shuffle = shuffle;
        this.jitter = jitter;
        BatchesPerEpoch = (int)((inputs.shape[0] + batchSize - 1) / batchSize);
        permutations = new EpochPermutations((int)inputs.shape[0], epoch => Mix(seed, epoch, -1));
    }

    /// <inheritdoc />
    public int BatchesPerEpoch { get; }

    /// <inheritdoc />
    public ClassificationBatch GetBatch(int epoch, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (index < 0 || index >= BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(index), index, $"must lie in [0, {BatchesPerEpoch})");
        var n = (int)inputs.shape[0];
        var start = index * batchSize;
        var length = Math.Min(batchSize, n - start);
        Tensor rows;
        if (shuffle)
        {
            var order = permutations.For(epoch);
            rows = tensor(Array.ConvertAll(order[start..(start + length)], i => (long)i));
        }
        else
        {
            rows = arange(start, start + length, dtype: ScalarType.Int64);
        }
        var x = inputs.index_select(0, rows);
        if (jitter is not null) x = Jitter(x, jitter, new Random(Mix(seed, epoch, index)));
        return new ClassificationBatch(x, labels.index_select(0, rows), teacherLogits?.index_select(0, rows));
    }

    private static Tensor Jitter(Tensor x, ImageJitter jitter, Random rng)
    {
        var b = (int)x.shape[0];
        var s = jitter.Side;
        var m = jitter.MaxShift;
        var w = s + 2 * m;
        // One gather per batch: output pixel (y, x) of image i reads padded pixel (y + dy_i, x' + dx_i), x' = x or s − 1 − x.
        var dy = new long[b];
        var dx = new long[b];
        var mirror = new bool[b];
        for (var i = 0; i < b; i++)
        {
            dy[i] = m + rng.Next(-m, m + 1);
            dx[i] = m + rng.Next(-m, m + 1);
            mirror[i] = jitter.Mirror && rng.Next(2) == 1;
        }
        using var scope = NewDisposeScope();
        var row = arange(s, dtype: ScalarType.Int64).repeat_interleave(s).unsqueeze(0);   // (1, s·s): y of each output pixel
        var col = arange(s, dtype: ScalarType.Int64).repeat(s).unsqueeze(0);              // (1, s·s): x
        var cols = where(tensor(mirror).unsqueeze(1), (s - 1) - col, col);                // (B, s·s)
        var index = (row + tensor(dy).unsqueeze(1)) * w + cols + tensor(dx).unsqueeze(1);  // (B, s·s) into the padded image
        var padded = nn.functional.pad(x.reshape(b, s, s), [m, m, m, m]).reshape(b, w * w); // zero border
        return padded.gather(1, index).MoveToOuterDisposeScope();                           // (B, s·s)
    }

    private static int Mix(long seed, int epoch, int index)
    {
        unchecked
        {
            var h = (ulong)seed * 0x9E3779B97F4A7C15UL;
            h ^= (ulong)(uint)epoch * 0xC2B2AE3D27D4EB4FUL;
            h ^= (ulong)(uint)index * 0x165667B19E3779F9UL;
            h ^= h >> 29;
            return (int)(h ^ (h >> 32));
        }
    }
}
