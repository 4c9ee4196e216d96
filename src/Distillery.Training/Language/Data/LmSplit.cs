using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Distillery.Core.Hashing;

namespace Distillery.Training.Language.Data;

/// <summary>
/// The held-out split: by the hash of (seed, prompt id), so it is the same in every run, rows of one prompt never straddle
/// it, and adding rows to a dataset does not move existing prompts across it.
/// </summary>
public static class LmSplit
{
    /// <summary>Splits examples into training and held-out sets, about <paramref name="evalFraction"/> of the prompts held out.</summary>
    public static (IReadOnlyList<LmExample> Train, IReadOnlyList<LmExample> Eval) Split(IReadOnlyList<LmExample> examples, double evalFraction, long seed)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (!(evalFraction is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(evalFraction), evalFraction, "must lie in [0, 1)");
        if (evalFraction == 0) return (examples, []);
        var threshold = (ulong)(evalFraction * ulong.MaxValue);
        var groups = examples.Select(e => e.GroupId).Distinct(StringComparer.Ordinal)
            .ToDictionary(g => g, g => StableHash.Mixed(seed.ToString(CultureInfo.InvariantCulture) + "/" + g), StringComparer.Ordinal);
        var held = groups.Where(g => g.Value < threshold).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        // A small dataset may draw no held-out prompt at all: hold out the one with the lowest hash so evaluation has data.
        if (held.Count == 0 && groups.Count >= 2) held.Add(groups.MinBy(g => g.Value).Key);
        if (held.Count == groups.Count) held.Remove(groups.MaxBy(g => g.Value).Key);
        return (examples.Where(e => !held.Contains(e.GroupId)).ToList(), examples.Where(e => held.Contains(e.GroupId)).ToList());
    }
}
