using System;
using System.Linq;
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
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach()).gather(-1, ids).squeeze(-1);
        return SampledReverseKlFromTeacherLogprobs(studentLogits, logP, targets, mask, normalizer);
    }

    /// <summary>
    /// <see cref="SampledReverseKl"/> from the teacher's log-probability of each sampled token alone, which is all a teacher
    /// behind an API returns: the same loss, −Σ_masked Aₜ · log q(yₜ) / <paramref name="normalizer"/> with Aₜ = log p(yₜ) − log q(yₜ)
    /// held fixed. With <paramref name="chunks"/>, positions that the teacher scored only together (its tokens of those bytes
    /// are not the student's one for one: another tokenizer, or a sample spelled otherwise) share one advantage, that of the
    /// chunk: A_c = Σ_c log p − Σ_c log q, the teacher's log-probability of the chunk's bytes minus the student's, each given
    /// the same text before them. Every student token of the chunk gets the whole A_c, not a share of it: the chunk is one
    /// step of the estimator, with log q(chunk) = Σ_c log q(yₛ), so its term −A_c · log q(chunk) is Σ_c −A_c · log q(yₛ).
    /// Inside a chunk no boundary is shared by both tokenisations, so no per-token advantage exists to compare; splitting A_c
    /// by token count would weigh a stretch by how finely the student happens to split it. A chunk of one token on each
    /// side is the per-token case, and the normaliser still counts student tokens.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, T, V); row t scores <paramref name="targets"/> at t.</param>
    /// <param name="teacherTokenLogprobs">log p(yₜ), the teacher's log-probability of each sampled token, (…, T) (a chunk's may lie on any of its positions, 0 on the others); any finite value where masked (NaN would reach the gradient).</param>
    /// <param name="targets">The sampled ids, (…, T), int64.</param>
    /// <param name="mask">Which positions count, (…, T).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="chunks">Null: every position on its own; else (…, T) int64, the position (0 … T − 1, in its own row) that names each position's chunk.</param>
    public static Tensor SampledReverseKlFromTeacherLogprobs(Tensor studentLogits, Tensor teacherTokenLogprobs, Tensor targets, Tensor mask, double normalizer, Tensor? chunks = null)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherTokenLogprobs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mask);
        if (!teacherTokenLogprobs.shape.SequenceEqual(targets.shape) || chunks is not null && !chunks.shape.SequenceEqual(targets.shape))
            throw new ArgumentException($"the teacher's token logprobs [{string.Join(", ", teacherTokenLogprobs.shape)}] and chunks must have the targets' shape [{string.Join(", ", targets.shape)}]", nameof(teacherTokenLogprobs));
        var ids = targets.clamp(0, studentLogits.shape[^1] - 1).unsqueeze(-1);
        var logQ = TokenDistribution.LogSoftmax(studentLogits).gather(-1, ids).squeeze(-1);
        // −∞ (a token the teacher rules out) is floored so the advantage stays finite; masked positions are discarded by the mean.
        var logP = teacherTokenLogprobs.detach().to_type(logQ.dtype).clamp_min(TokenDistribution.LogFloor);
        var advantage = chunks is null ? logP - logQ : ChunkSum(logP - logQ, mask, chunks);
        return LossMath.MaskedMean(-advantage.detach() * logQ, mask, normalizer);
    }

    /// <summary>Each position's chunk total of <paramref name="values"/> over the unmasked positions, (…, T).</summary>
    private static Tensor ChunkSum(Tensor values, Tensor mask, Tensor chunks)
    {
        var length = values.shape[^1];
        var rows = values.numel() / Math.Max(1, length);
        var kept = where(LossMath.AsBool(mask), values, zeros_like(values)).reshape(rows, length);                   // (R, T)
        var slots = (arange(rows, dtype: ScalarType.Int64, device: values.device) * length).unsqueeze(-1) + chunks.reshape(rows, length); // (R, T)
        var totals = zeros(rows * length, dtype: values.dtype, device: values.device).index_add(0, slots.flatten(), kept.flatten(), 1);
        return totals.gather(0, slots.flatten()).reshape(values.shape);
    }
}
