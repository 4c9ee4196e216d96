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
/// true, so a suspect that reports only its top-k alternatives (an API's logprobs) is scored on those. For the same reason each
/// context's term may be scaled by a factor computed from its weights (<see cref="GreenMassWeighting"/>): the sum's null
/// variance is then Σ f² γ(1 − γ) Σ_i w_i², still exact.
/// </remarks>
public sealed class GreenMass
{
    private readonly GreenListWatermark watermark;
    private readonly Dictionary<string, Context> contexts;

    /// <summary>An empty score under <paramref name="watermark"/>'s key, γ and context length.</summary>
    public GreenMass(GreenListWatermark watermark)
        : this(watermark ?? throw new ArgumentNullException(nameof(watermark)), new Dictionary<string, Context>(StringComparer.Ordinal), 0)
    {
    }

    private GreenMass(GreenListWatermark watermark, Dictionary<string, Context> contexts, long positions)
    {
        this.watermark = watermark;
        this.contexts = contexts;
        Positions = positions;
    }

    /// <summary>The positions added so far, scored under <paramref name="other"/> (random keys for calibration); they share what is added later.</summary>
    public GreenMass Under(GreenListWatermark other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Context != watermark.Context) throw new ArgumentException($"the other key's context length {other.Context} is not {watermark.Context}", nameof(other));
        return new GreenMass(other, contexts, Positions);
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

    /// <summary>The test over every context added so far, its contexts combined by <paramref name="weighting"/>.</summary>
    public GreenMassScore Score(GreenMassWeighting weighting)
    {
        double sum = 0, norm = 0, green = 0, total = 0;
        var gamma = watermark.Gamma;
        foreach (var context in contexts.Values)
        {
            var seed = watermark.SeedOf(context.Window);
            double excess = 0, variance = 0;
            foreach (var (id, mass) in context.Mass)
            {
                var w = mass / context.Count; // the average distribution after this context
                var isGreen = watermark.IsGreen(seed, id);
                excess += w * ((isGreen ? 1 : 0) - gamma);
                variance += gamma * (1 - gamma) * w * w;
                total += w;
                if (isGreen) green += w;
            }
            if (variance == 0) continue;
            // A context's factor f depends on its weights alone, never on the key: Σ f·excess has variance Σ f²·variance.
            var f = weighting switch
            {
                GreenMassWeighting.Mass => 1,
                GreenMassWeighting.Context => 1 / Math.Sqrt(variance),
                GreenMassWeighting.InverseVariance => 1 / variance,
                _ => throw new ArgumentOutOfRangeException(nameof(weighting)),
            };
            sum += f * excess;
            norm += f * f * variance;
        }
        return new GreenMassScore(Positions, contexts.Count, total == 0 ? double.NaN : green / total, gamma, norm == 0 ? double.NaN : sum / Math.Sqrt(norm));
    }

    private sealed class Context(int[] window)
    {
        public int[] Window { get; } = window;
        public int Count { get; set; }
        public Dictionary<int, double> Mass { get; } = [];
    }
}

/// <summary>How <see cref="GreenMass"/> combines its contexts' terms.</summary>
public enum GreenMassWeighting
{
    /// <summary>Each context's term as it is: contexts where the weights are larger count more.</summary>
    Mass,

    /// <summary>Each context's term over its own null standard deviation (Stouffer): every context counts alike.</summary>
    Context,

    /// <summary>Each context's term over its null variance: contexts with small weights count most.</summary>
    InverseVariance,
}

/// <summary>A green-mass score: positions read, distinct contexts scored, the share of the scored mass that is green, γ, and z.</summary>
public sealed record GreenMassScore(long Positions, int Contexts, double GreenShare, double Gamma, double Z)
{
    /// <summary>ln of the one-sided p-value P(N(0, 1) ≥ z).</summary>
    public double LogP => double.IsNaN(Z) ? 0 : NormalTail.LogUpper(Z);
}
