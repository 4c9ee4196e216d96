using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

public static partial class DistillationLosses
{
    /// <summary>
    /// The sampled per-token reverse KL of on-policy distillation (Thinking Machines 2025, "On-Policy Distillation"): on the
    /// student's own sampled tokens yₜ, the advantage Aₜ = log p(yₜ) − log q(yₜ) (teacher minus student, no discounting) is
    /// held fixed and the loss is −Σ_masked Aₜ · log q(yₜ) / <paramref name="normalizer"/>. Its gradient is a one-sample
    /// estimate of ∇ KL(q ‖ p) at each position when yₜ ~ q; the loss value itself is not the KL (it is zero wherever the
    /// student matches the teacher on the sampled token, and its gradient with it).
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V); row t scores <paramref name="targets"/> at t (shift before calling).</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (…, V); −∞ is floored so the advantage stays finite.</param>
    /// <param name="targets">The sampled ids, (…), int64.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    public static Tensor SampledReverseKl(Tensor studentLogits, Tensor teacherLogits, Tensor targets, Tensor mask, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mask);
        LossMath.CheckSameShape(studentLogits, teacherLogits);
        // Masked positions may hold any id (padding): clamp them into range; where() discards them afterwards.
        var ids = targets.clamp(0, studentLogits.shape[^1] - 1).unsqueeze(-1);
        var logQ = TokenDistribution.LogSoftmax(studentLogits).gather(-1, ids).squeeze(-1);
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach()).gather(-1, ids).squeeze(-1);
        var advantage = (logP - logQ).detach();
        return LossMath.MaskedMean(-advantage * logQ, mask, normalizer);
    }
}
