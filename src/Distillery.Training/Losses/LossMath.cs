using System;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>Shared pieces of every loss: precision, masking, the normaliser and a finite floor for log-probabilities.</summary>
internal static class LossMath
{
    /// <summary>
    /// The floor for log-probabilities. exp(−1e4) is exactly 0 in float32 and float64, so a −∞ clamped here keeps
    /// its probability of zero while every product and gradient stays finite (0 · −∞ would be NaN).
    /// </summary>
    public const double LogFloor = -1e4;

    /// <summary>Float32 for half and bfloat16 inputs (losses run in float32); float32 and float64 are kept as they are.</summary>
    public static Tensor Precise(Tensor t) =>
        t.dtype is ScalarType.Float32 or ScalarType.Float64 ? t : t.to_type(ScalarType.Float32);

    /// <summary>Log-softmax over the last dimension at a temperature, floored so that −∞ becomes a finite, zero-probability value.</summary>
    public static Tensor LogSoftmax(Tensor logits, double temperature = 1.0)
    {
        var x = Precise(logits);
        if (temperature != 1.0) x = x / temperature;
        return x.log_softmax(-1).clamp_min(LogFloor);
    }

    /// <summary>
    /// Σ over unmasked positions of a per-position loss, divided by the normaliser. Masked positions are selected away
    /// with <c>where</c>, never multiplied by zero, so NaN or ∞ in a masked row cannot reach the result or the gradient.
    /// A normaliser of zero (nothing unmasked anywhere) gives a loss of zero.
    /// </summary>
    public static Tensor MaskedMean(Tensor perPosition, Tensor mask, double normaliser)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(normaliser);
        var keep = AsBool(mask);
        if (!keep.shape.AsSpan().SequenceEqual(perPosition.shape))
            throw new ArgumentException($"mask shape [{string.Join(", ", keep.shape)}] differs from the loss positions [{string.Join(", ", perPosition.shape)}]", nameof(mask));
        var kept = where(keep, perPosition, zeros_like(perPosition));
        return kept.sum() / Math.Max(normaliser, 1.0);
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

    /// <summary>KL(p‖q) over the last dimension from log-probabilities, 0 · log 0 taken as 0.</summary>
    public static Tensor Kl(Tensor logP, Tensor logQ) => (logP.exp() * (logP - logQ)).sum(-1);

    /// <summary>log(1 − eˣ) for x ≤ 0, floored: a complement of (numerically) zero mass becomes the finite floor, never −∞ or NaN.</summary>
    public static Tensor LogOneMinusExp(Tensor logMass)
    {
        // A sum of probabilities can round a hair above 1; clamping the mass below 1 keeps log finite and its gradient zero there.
        var complement = (-logMass.clamp_max(0).expm1()).clamp_min(Math.Exp(LogFloor / 100));
        return complement.log().clamp_min(LogFloor);
    }
}
