using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>How hidden states are compared per position.</summary>
public enum HiddenStateMetric
{
    /// <summary>Mean squared error over the feature dimension (FitNets, Romero et al. 2015, eq. 2, per position).</summary>
    Mse,

    /// <summary>1 − cosine similarity (DistilBERT, Sanh et al. 2019, §3 "cosine embedding loss").</summary>
    Cosine,
}

public static partial class DistillationLosses
{
    /// <summary>
    /// Hidden-state matching: the student's hidden states, mapped by a learned projection when the widths differ
    /// (the FitNets "regressor", Romero et al. 2015, eq. 2), compared with the teacher's by <paramref name="metric"/> at every
    /// unmasked position; Σ / <paramref name="normalizer"/>. The projection's parameters must be in the optimiser.
    /// </summary>
    /// <param name="studentHidden">Student hidden states, (…, Ds).</param>
    /// <param name="teacherHidden">Teacher hidden states, (…, Dt); treated as constants.</param>
    /// <param name="metric">MSE or cosine.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="projection">Maps Ds to Dt (see <see cref="HiddenStateProjection"/>); required when Ds ≠ Dt.</param>
    public static Tensor HiddenStateMatch(Tensor studentHidden, Tensor teacherHidden, HiddenStateMetric metric, Tensor mask, double normalizer,
        nn.Module<Tensor, Tensor>? projection = null)
    {
        ArgumentNullException.ThrowIfNull(studentHidden);
        ArgumentNullException.ThrowIfNull(teacherHidden);
        ArgumentNullException.ThrowIfNull(mask);
        var s = TokenDistribution.Precise(studentHidden);
        if (projection is not null) s = projection.call(s);
        var t = TokenDistribution.Precise(teacherHidden.detach()).to_type(s.dtype);
        if (!s.shape.AsSpan().SequenceEqual(t.shape))
            throw new ArgumentException($"student hidden states [{string.Join(", ", s.shape)}] do not match the teacher's [{string.Join(", ", t.shape)}]; pass a projection when widths differ", nameof(projection));
        var perPosition = metric switch
        {
            HiddenStateMetric.Mse => (s - t).square().mean([-1L]),
            HiddenStateMetric.Cosine => 1 - nn.functional.cosine_similarity(s, t, dim: -1, eps: 1e-8),
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown hidden-state metric"),
        };
        return LossMath.MaskedMean(perPosition, mask, normalizer);
    }
}
