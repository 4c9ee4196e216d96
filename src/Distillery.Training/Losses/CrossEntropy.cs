using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>Distillation losses: pure functions over tensors, computed in log space (float32, or float64 if given), masked and normalised.</summary>
public static partial class DistillationLosses
{
    /// <summary>
    /// Cross-entropy on the teacher's text, the sequence-level KD objective (Kim &amp; Rush 2016, eq. 8 with the teacher's
    /// beam output as the target): Σ_masked −log q(yₜ) / <paramref name="normalizer"/>.
    /// Logits at position t are scored against <paramref name="targets"/> at the same position: shift before calling.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="targets">Target token or class ids, (…), int64.</param>
    /// <param name="mask">Which positions count, (…): bool, or numeric with non-zero meaning keep.</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    public static Tensor CrossEntropy(Tensor studentLogits, Tensor targets, Tensor mask, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mask);
        var logQ = TokenDistribution.LogSoftmax(studentLogits);
        // Masked positions may hold any id (padding): clamp them into range; where() discards them afterwards.
        var safeTargets = targets.clamp(0, studentLogits.shape[^1] - 1);
        var nll = -logQ.gather(-1, safeTargets.unsqueeze(-1)).squeeze(-1);
        return LossMath.MaskedMean(nll, mask, normalizer);
    }
}
