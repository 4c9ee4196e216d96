using System;
using System.Collections.Generic;
using Distillery.Core.Statistics;

namespace Distillery.Models.Decoding;

/// <summary>
/// The radioactivity test on a suspect's next-token probabilities rather than its sampled tokens (Sander et al. 2024,
/// arXiv 2402.14904, §4 scores a suspect's predictions; this scores its whole distribution): each distinct context (the
/// previous H ids) is scored once, with the suspect's distributions after it averaged over every occurrence; the statistic is
/// the mass the average puts on that context's green list, less γ times its total mass.
/// </summary>
/// <remarks>
/// Under H0 the suspect does not depend on the key, so each token of a context is green by its own keyed coin with
/// probability γ, independently of the weights and of every other context: a context with weights w contributes
/// X = Σ_i w_i (1[green_i] − γ), with mean 0 and variance γ(1 − γ) Σ_i w_i², and the contexts are independent. The sum over
/// contexts divided by its standard deviation is z, and p is its normal tail. Any weights chosen without the key keep this
/// true, so a suspect that reports only its top-k alternatives (an API's logprobs) is scored on those.
/// </remarks>
public sealed class GreenMass
{
    private readonly GreenListWatermark watermark;
    private readonly Dictionary<string, Context> contexts = new(StringComparer.Ordinal);

    /// <summary>An empty score under <paramref name="watermark"/>'s key, γ and context length.</summary>
    public GreenMass(GreenListWatermark watermark)
    {
        ArgumentNullException.ThrowIfNull(watermark);
        this.watermark = watermark;
    }

    /// <summary>Positions added.</summary>
    public long Positions { get; private set; }

    /// <summary>Distinct contexts seen.</summary>
    public int Contexts => contexts.Count;

    /// <summary>
    /// Adds one position: <paramref name="previous"/> ends with the H ids before it (shorter is skipped: it has no full
    /// context), and <paramref name="alternatives"/> are the suspect's (id, probability) pairs there, each id at most once.
    /// </summary>
    public void Add(ReadOnlySpan<int> previous, IEnumerable<(int Id, double Probability)> alternatives)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        if (previous.Length < watermark.Context) return;
        var window = previous[^watermark.Context..];
        var name = string.Join(',', window.ToArray());
        if (!contexts.TryGetValue(name, out var context)) contexts[name] = context = new Context(window.ToArray());
        context.Count++;
        foreach (var (id, probability) in alternatives)
        {
            if (!double.IsFinite(probability)) throw new ArgumentOutOfRangeException(nameof(alternatives), probability, "a weight must be finite");
            context.Mass[id] = context.Mass.GetValueOrDefault(id) + probability;
        }
        Positions++;
    }

    /// <summary>The test over every context added so far.</summary>
    public GreenMassScore Score()
    {
        double excess = 0, variance = 0, green = 0, total = 0;
        var gamma = watermark.Gamma;
        foreach (var context in contexts.Values)
        {
            var seed = watermark.SeedOf(context.Window);
            foreach (var (id, sum) in context.Mass)
            {
                var w = sum / context.Count; // the average distribution after this context
                var isGreen = watermark.IsGreen(seed, id);
                excess += w * ((isGreen ? 1 : 0) - gamma);
                variance += gamma * (1 - gamma) * w * w;
                total += w;
                if (isGreen) green += w;
            }
        }
        return new GreenMassScore(Positions, contexts.Count, total == 0 ? double.NaN : green / total, gamma, variance == 0 ? double.NaN : excess / Math.Sqrt(variance));
    }

    private sealed class Context(int[] window)
    {
        public int[] Window { get; } = window;
        public int Count { get; set; }
        public Dictionary<int, double> Mass { get; } = [];
    }
}

/// <summary>A green-mass score: positions read, distinct contexts scored, the share of the scored mass that is green, γ, and z.</summary>
public sealed record GreenMassScore(long Positions, int Contexts, double GreenShare, double Gamma, double Z)
{
    /// <summary>ln of the one-sided p-value P(N(0, 1) ≥ z).</summary>
    public double LogP => double.IsNaN(Z) ? 0 : NormalTail.LogUpper(Z);
}
