using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Statistics;
using Distillery.Models.Decoding;

namespace Distillery.Models.Tests.Decoding;

/// <summary>
/// The logprob radioactivity statistic: z by hand for one context, averaging over a context's occurrences, calibration under H0
/// over many keys (z standard normal, the false-positive rate within its binomial bound), and power against a distribution
/// that leans toward one key's green lists.
/// </summary>
public sealed class GreenMassTests
{
    private const int Vocab = 64;

    /// <summary>
    /// Distributions that do not depend on any key: softmax of fixed random logits per context; with <paramref name="scaled"/>,
    /// each context's weights are also multiplied by a random factor between 0.001 and 1 (as residuals less a teacher are), so
    /// that the ways of combining contexts differ.
    /// </summary>
    private static List<(int[] Previous, (int Id, double P)[] Alternatives)> KeyFreePositions(int contexts, int seed, bool scaled = false)
    {
        var random = new Random(seed);
        var positions = new List<(int[], (int, double)[])>();
        for (var c = 0; c < contexts; c++)
        {
            var logits = Enumerable.Range(0, Vocab).Select(_ => 3 * random.NextDouble()).ToArray();
            var max = logits.Max();
            var z = logits.Sum(l => Math.Exp(l - max));
            var scale = scaled ? Math.Pow(10, -3 * random.NextDouble()) : 1;
            positions.Add(([c], [.. logits.Select((l, id) => (id, scale * Math.Exp(l - max) / z))]));
        }
        return positions;
    }

    private static GreenMassScore Score(GreenListWatermark key, IEnumerable<(int[] Previous, (int Id, double P)[] Alternatives)> positions,
        GreenMassWeighting weighting = GreenMassWeighting.Mass)
    {
        var mass = new GreenMass(key);
        foreach (var (previous, alternatives) in positions) mass.Add(previous, alternatives);
        return mass.Score(weighting);
    }

    [Fact]
    public void One_context_gives_the_z_of_its_weights_by_hand()
    {
        var key = new GreenListWatermark("hand", gamma: 0.25);
        (int Id, double P)[] weights = [(3, 0.5), (7, 0.3), (11, 0.2)];
        var seed = key.SeedOf([42]);
        var excess = weights.Sum(w => w.P * ((key.IsGreen(seed, w.Id) ? 1 : 0) - 0.25));
        var sd = Math.Sqrt(0.25 * 0.75 * weights.Sum(w => w.P * w.P));

        var score = Score(key, [([9, 42], weights)]); // only the last H = 1 id is the context

        Assert.Equal(excess / sd, score.Z, 1e-12);
        Assert.Equal((1L, 1), (score.Positions, score.Contexts));
    }

    [Fact]
    public void Two_contexts_combine_by_hand_under_each_weighting()
    {
        var key = new GreenListWatermark("combine", gamma: 0.25);
        (int Id, double P)[][] weights = [[(3, 0.5), (7, 0.3), (11, 0.2)], [(2, 0.02), (9, -0.01), (40, 0.005)]];
        var terms = weights.Select((w, c) =>
        {
            var seed = key.SeedOf([c]);
            return (Excess: w.Sum(x => x.P * ((key.IsGreen(seed, x.Id) ? 1 : 0) - 0.25)), Variance: 0.25 * 0.75 * w.Sum(x => x.P * x.P));
        }).ToArray();
        var positions = weights.Select((w, c) => (new[] { c }, w)).ToList();

        Assert.Equal(terms.Sum(t => t.Excess) / Math.Sqrt(terms.Sum(t => t.Variance)), Score(key, positions).Z, 1e-12);
        Assert.Equal(terms.Sum(t => t.Excess / Math.Sqrt(t.Variance)) / Math.Sqrt(2), Score(key, positions, GreenMassWeighting.Context).Z, 1e-12);
        Assert.Equal(terms.Sum(t => t.Excess / t.Variance) / Math.Sqrt(terms.Sum(t => 1 / t.Variance)), Score(key, positions, GreenMassWeighting.InverseVariance).Z, 1e-12);
    }

    [Fact]
    public void Under_another_key_scores_as_a_fresh_score_with_that_key_would()
    {
        var positions = KeyFreePositions(contexts: 50, seed: 3, scaled: true);
        var under = new GreenMass(new GreenListWatermark("first"));
        foreach (var (previous, alternatives) in positions) under.Add(previous, alternatives);
        var other = new GreenListWatermark("second");

        foreach (var weighting in Enum.GetValues<GreenMassWeighting>())
            Assert.Equal(Score(other, positions, weighting).Z, under.Under(other).Score(weighting).Z, 1e-12);
        Assert.Throws<ArgumentException>(() => under.Under(new GreenListWatermark("longer", context: 2)));
    }

    [Fact]
    public void A_context_is_scored_once_with_its_occurrences_averaged()
    {
        var key = new GreenListWatermark("average");
        (int, double)[] a = [(1, 0.6), (2, 0.4)], b = [(1, 0.2), (5, 0.8)];
        var twice = Score(key, [([4], a), ([4], b)]);
        var averaged = Score(key, [([4], [(1, 0.4), (2, 0.2), (5, 0.4)])]);
        var repeated = Score(key, [([4], a), ([4], a), ([4], a)]);

        Assert.Equal(averaged.Z, twice.Z, 1e-12);
        Assert.Equal(Score(key, [([4], a)]).Z, repeated.Z, 1e-12); // repeats add no evidence
        Assert.Equal(1, twice.Contexts);
    }

    [Fact]
    public void A_position_without_a_full_context_is_skipped_and_a_weight_must_be_finite()
    {
        var mass = new GreenMass(new GreenListWatermark("short", context: 2));
        mass.Add([5], [(1, 1.0)]);
        Assert.Equal(0, mass.Positions);
        Assert.True(double.IsNaN(mass.Score(GreenMassWeighting.Context).Z));
        Assert.Throws<ArgumentOutOfRangeException>(() => mass.Add([5, 6], [(1, double.NaN)]));
    }

    [Theory]
    [InlineData(GreenMassWeighting.Mass, false)]
    [InlineData(GreenMassWeighting.Mass, true)]
    [InlineData(GreenMassWeighting.Context, true)]
    [InlineData(GreenMassWeighting.InverseVariance, true)]
    public void Under_H0_z_is_standard_normal_over_keys_and_the_false_positive_rate_holds(GreenMassWeighting weighting, bool scaled)
    {
        var positions = KeyFreePositions(contexts: 200, seed: 7, scaled);
        var z = Enumerable.Range(0, 2000).Select(k => Score(new GreenListWatermark($"random-{k}"), positions, weighting).Z).ToArray();
        var mean = z.Average();
        var sd = Math.Sqrt(z.Sum(v => (v - mean) * (v - mean)) / (z.Length - 1));
        var rejected = z.Count(v => NormalTail.Upper(v) < 0.05);

        Assert.InRange(mean, -0.1, 0.1); // 4.5 standard errors of the mean
        Assert.InRange(sd, 0.93, 1.07);
        // Binomial(2000, 0.05): mean 100, sd 9.7; ±4 sd.
        Assert.InRange(rejected, 61, 139);
    }

    [Fact]
    public void A_distribution_that_leans_to_a_keys_green_lists_is_found_under_that_key_only()
    {
        var key = new GreenListWatermark("leaning", gamma: 0.25, delta: 0.5);
        var leaning = KeyFreePositions(contexts: 300, seed: 11).Select(p =>
        {
            var logits = p.Alternatives.Select(a => (float)Math.Log(a.P)).ToArray();
            key.Apply(logits, p.Previous); // what a student that absorbed a δ = 0.5 bias would put there
            return (p.Previous, logits.Select((l, id) => (id, Math.Exp(l))).ToArray());
        }).ToList();

        var own = Score(key, leaning);
        var other = Score(new GreenListWatermark("another"), leaning);

        Assert.True(own.LogP / Math.Log(10) < -10, $"z {own.Z}");
        Assert.InRange(other.Z, -5, 5);
        Assert.True(own.GreenShare > 0.25, $"green share {own.GreenShare}");
    }
}
