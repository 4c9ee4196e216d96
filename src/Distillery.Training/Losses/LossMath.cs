using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>Shared pieces of every loss: masking, the normalizer and argument checks (log-probabilities and KL: <see cref="Distillery.Models.Probability.TokenDistribution"/>).</summary>
internal static class LossMath
{
    /// <summary>
    /// Σ over unmasked positions of a per-position loss, divided by the normalizer. Masked positions are selected away
    /// with <c>where</c>, never multiplied by zero, so NaN or ∞ in a masked row cannot reach the result or the gradient.
    /// A normalizer of zero (nothing unmasked anywhere) gives a loss of zero.
    /// </summary>
    public static Tensor MaskedMean(Tensor perPosition, Tensor mask, double normalizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(normalizer);
        var keep = AsBool(mask);
        if (!keep.shape.AsSpan().SequenceEqual(perPosition.shape))
            throw new ArgumentException($"mask shape [{string.Join(", ", keep.shape)}] differs from the loss positions [{string.Join(", ", perPosition.shape)}]", nameof(mask));
        var kept = where(keep, perPosition, zeros_like(perPosition));
        return kept.sum() / Math.Max(normalizer, 1.0);
    }

    /// <summary>A boolean mask from a boolean or numeric (non-zero = keep) tensor.</summary>
    public static Tensor AsBool(Tensor mask) => mask.dtype == ScalarType.Bool ? mask : mask.ne(0);

    /// <summary>Throws unless <paramref name="temperature"/> is positive and finite.</summary>
    public static void CheckTemperature(double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive and finite");
    }

    /// <summary>Throws unless the student and teacher logits share a shape.</summary>
    public static void CheckSameShape(Tensor student, Tensor teacher)
    {
        if (!student.shape.AsSpan().SequenceEqual(teacher.shape))
            throw new ArgumentException($"teacher shape [{string.Join(", ", teacher.shape)}] differs from student shape [{string.Join(", ", student.shape)}]", nameof(teacher));
    }

    /// <summary>log(1 − eˣ) for x ≤ 0, floored: a complement of (numerically) zero mass becomes the finite floor, never −∞ or NaN.</summary>
    public static Tensor LogOneMinusExp(Tensor logMass)
    {
        // A sum of probabilities can round a hair above 1; clamping the mass below 1 keeps log finite and its gradient zero there.
        var complement = (-logMass.clamp_max(0).expm1()).clamp_min(Math.Exp(TokenDistribution.LogFloor / 100));
        return complement.log().clamp_min(TokenDistribution.LogFloor);
    }
}
