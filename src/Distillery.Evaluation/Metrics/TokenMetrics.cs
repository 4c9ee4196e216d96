using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Metrics;

/// <summary>Per-token comparison of a student with a teacher or with text: sums over unmasked positions, as pure tensor functions.</summary>
public static class TokenMetrics
{
    /// <summary>Sum over unmasked positions of −log p(target), from logits (B,T,V), targets (B,T) and mask (B,T).</summary>
    public static double NegativeLogLikelihoodSum(Tensor logits, Tensor targets, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var logp = TokenDistribution.LogSoftmax(logits);                                 // (B, T, V)
        var picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);                  // (B, T)
        return -SumWhere(picked, mask);
    }

    /// <summary>Sum over unmasked positions of KL(teacher ‖ student) (<see cref="TokenDistribution.KlFromLogits"/>), from two logit tensors (B,T,V) and a mask (B,T).</summary>
    public static double KlSum(Tensor teacherLogits, Tensor studentLogits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return SumWhere(TokenDistribution.KlFromLogits(teacherLogits, studentLogits), mask);
    }

    /// <summary>Number of unmasked positions where the student's and the teacher's most likely tokens agree.</summary>
    public static long AgreementCount(Tensor teacherLogits, Tensor studentLogits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var same = teacherLogits.argmax(-1).eq(studentLogits.argmax(-1));                  // (B, T)
        return (same & mask.to_type(ScalarType.Bool)).sum().item<long>();
    }

    /// <summary>Sums the unmasked positions, selecting them (a NaN or ∞ in a masked position cannot reach the sum).</summary>
    private static double SumWhere(Tensor perPosition, Tensor mask)
    {
        var keep = mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
        return where(keep, perPosition, zeros_like(perPosition)).sum().to_type(ScalarType.Float64).item<double>();
    }

    /// <summary>
    /// Bits per UTF-8 byte: a summed negative log-likelihood in nats over the bytes of the text it scored, nll / (ln 2 · bytes).
    /// Unlike a per-token figure it does not depend on how the tokenizer cuts the text, so models of different tokenizers compare.
    /// </summary>
    public static double BitsPerByte(double nllSum, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        return nllSum / (Math.Log(2) * bytes);
    }

    /// <summary>Perplexity from a summed negative log-likelihood over a token count: exp(nll / n).</summary>
    public static double Perplexity(double nllSum, long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        return Math.Exp(nllSum / tokens);
    }
}
