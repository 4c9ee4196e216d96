using System;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Metrics;

/// <summary>Per-token comparison of a student with a teacher or with text: sums over unmasked positions, as pure tensor functions.</summary>
public static class TokenMetrics
{
    /// <summary>Sum over unmasked positions of −log p(target), from logits (B,T,V), targets (B,T) and mask (B,T).</summary>
    public static double NegativeLogLikelihoodSum(Tensor logits, Tensor targets, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var logp = logits.to_type(ScalarType.Float32).log_softmax(-1);                     // (B, T, V)
        var picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);                  // (B, T)
        return -(picked * mask.to_type(ScalarType.Float32)).sum().item<float>();
    }

    /// <summary>Sum over unmasked positions of KL(teacher ‖ student), from two logit tensors (B,T,V) and a mask (B,T).</summary>
    public static double KlSum(Tensor teacherLogits, Tensor studentLogits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var t = teacherLogits.to_type(ScalarType.Float32).log_softmax(-1);
        var s = studentLogits.to_type(ScalarType.Float32).log_softmax(-1);
        // Where the teacher gives zero probability the term is 0, not 0·(−∞).
        var perToken = where(t.isneginf(), zeros_like(t), t.exp() * (t - s)).sum(-1);     // (B, T)
        return (perToken * mask.to_type(ScalarType.Float32)).sum().item<float>();
    }

    /// <summary>Number of unmasked positions where the student's and the teacher's most likely tokens agree.</summary>
    public static long AgreementCount(Tensor teacherLogits, Tensor studentLogits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var same = teacherLogits.argmax(-1).eq(studentLogits.argmax(-1));                  // (B, T)
        return (same & mask.to_type(ScalarType.Bool)).sum().item<long>();
    }

    /// <summary>Perplexity from a summed negative log-likelihood over a token count: exp(nll / n).</summary>
    public static double Perplexity(double nllSum, long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        return Math.Exp(nllSum / tokens);
    }
}
