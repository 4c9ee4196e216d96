using System;
using System.Collections.Generic;

namespace Distillery.Training.Trainer;

/// <summary>
/// The order in which a batch source visits its examples in each epoch: a Fisher–Yates shuffle driven by a generator seeded
/// per epoch, so an epoch has the same order in every process and a resumed run sees the data an uninterrupted one would.
/// The last few epochs' orders are kept.
/// </summary>
/// <param name="count">How many examples are shuffled.</param>
/// <param name="seedOf">The generator's seed for an epoch.</param>
internal sealed class EpochPermutations(int count, Func<int, int> seedOf)
{
    private const int Kept = 4;
    private readonly Dictionary<int, int[]> cache = [];

    /// <summary>Epoch <paramref name="epoch"/>'s order: position i holds the example visited i-th.</summary>
    public int[] For(int epoch)
    {
        if (cache.TryGetValue(epoch, out var cached)) return cached;
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        // System.Random with a seed is a fixed algorithm across runs and platforms: the same epoch gets the same order.
        var rng = new Random(seedOf(epoch));
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        if (cache.Count > Kept) cache.Clear();
        cache[epoch] = order;
        return order;
    }
}
