using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

public static partial class DistillationLosses
{
    /// <summary>
    /// Forward KL against a sparse teacher: its top-k token ids and log-probabilities, as an API returns them (OpenAI:
    /// k ≤ 20). The mass outside the top-k follows <see cref="SparseTeacherTargets.TailPolicy"/>:
    /// <see cref="TopKTailPolicy.Renormalize"/> takes KL(p̂ ‖ q̂) between teacher and student each renormalised over the k
    /// ids; <see cref="TopKTailPolicy.FoldTailIntoBucket"/> takes KL over k + 1 outcomes, the last being "any other token"
    /// with mass 1 − Σₖ p and 1 − Σₖ q; <see cref="TopKTailPolicy.UniformTail"/> spreads the teacher's 1 − Σₖ p evenly over
    /// the V − k other tokens and takes the full KL over V. All three equal <see cref="ForwardKl"/> at T = 1 when k = V. Padded alternatives
    /// (logprob −∞) count for nothing on either side. Temperature 1 only: an API's logprobs are at T = 1.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacher">The teacher's top-k ids (…, k) and log-probabilities (…, k), with its tail policy.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    public static Tensor TopKKl(Tensor studentLogits, SparseTeacherTargets teacher, Tensor mask, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(mask);
        if (teacher.Ids.dim() != studentLogits.dim() || !teacher.Ids.shape.AsSpan(0, teacher.Ids.shape.Length - 1).SequenceEqual(studentLogits.shape.AsSpan(0, studentLogits.shape.Length - 1)))
            throw new ArgumentException($"top-k ids [{string.Join(", ", teacher.Ids.shape)}] do not match student logits [{string.Join(", ", studentLogits.shape)}] in their leading dimensions", nameof(teacher));

        var vocab = studentLogits.shape[^1];
        var logQ = TokenDistribution.LogSoftmax(studentLogits);                                 // (…, V)
        var teacherLogP = TokenDistribution.Precise(teacher.Logprobs.detach()).to_type(logQ.dtype);
        var valid = teacherLogP.gt(TokenDistribution.LogFloor);                                 // (…, k) padding is −∞
        var logP = teacherLogP.clamp_min(TokenDistribution.LogFloor);
        var ids = teacher.Ids.clamp(0, vocab - 1);
        // Student log-probabilities on the teacher's ids; padded slots get the floor so they carry no student mass either.
        var logQk = where(valid, logQ.gather(-1, ids), full_like(logP, TokenDistribution.LogFloor)); // (…, k)

        Tensor perPosition;
        switch (teacher.TailPolicy)
        {
            case TopKTailPolicy.Renormalize:
            {
                var logPhat = (logP - logP.logsumexp(-1, keepdim: true)).clamp_min(TokenDistribution.LogFloor);
                var logQhat = (logQk - logQk.logsumexp(-1, keepdim: true)).clamp_min(TokenDistribution.LogFloor);
                perPosition = TokenDistribution.Kl(logPhat, logQhat);
                break;
            }
            case TopKTailPolicy.FoldTailIntoBucket:
            {
                var logPTail = LossMath.LogOneMinusExp(logP.logsumexp(-1, keepdim: true));          // (…, 1)
                var logQTail = LossMath.LogOneMinusExp(logQk.logsumexp(-1, keepdim: true));         // (…, 1)
                perPosition = TokenDistribution.Kl(cat([logP, logPTail], -1), cat([logQk, logQTail], -1));
                break;
            }
            case TopKTailPolicy.UniformTail:
                perPosition = UniformTailKl(logQ, logP, logQk, valid);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(teacher), teacher.TailPolicy, "unknown top-k tail policy");
        }
        return LossMath.MaskedMean(perPosition, mask, normalizer);
    }

    /// <summary>
    /// KL(p̃ ‖ q) over the whole vocabulary, where p̃ keeps the teacher's k probabilities and gives each of the other V − k
    /// tokens t = (1 − Σₖ p) / (V − k): Σₖ p (log p − log q) + t · Σ_{j∉k} (log t − log q_j), with Σ_{j∉k} log q_j taken as
    /// Σ_V log q − Σₖ log q. A tail that rounds to 0 or below (Σₖ p ≥ 1) contributes nothing.
    /// </summary>
    private static Tensor UniformTailKl(Tensor logQ, Tensor logP, Tensor logQk, Tensor valid)
    {
        var vocab = logQ.shape[^1];
        var zero = zeros_like(logP);
        var top = where(valid, logP.exp() * (logP - logQk), zero).sum(-1);                       // (…)
        var rest = (vocab - valid.sum(-1).to_type(logQ.dtype)).clamp_min(1);                     // V − k, (…)
        var tailMass = (1 - where(valid, logP.exp(), zero).sum(-1)).clamp_min(0);                 // 1 − Σₖ p, (…)
        var logQRest = logQ.sum(-1) - where(valid, logQk, zero).sum(-1);                          // Σ_{j∉k} log q_j
        var perToken = tailMass / rest;
        var logPerToken = perToken.clamp_min(double.Epsilon).log();
        var tail = where(tailMass.gt(0), perToken * (rest * logPerToken - logQRest), zeros_like(tailMass));
        return top + tail;
    }

    /// <summary>
    /// Random-sampling KD (Anshumann et al. 2025, arXiv 2503.16870, "Sparse Logit Sampling"): with x₁…x_K drawn with
    /// replacement from the teacher's distribution p at temperature 1, (1/K) Σₖ (log p(xₖ) − log q(xₖ)) estimates KL(p ‖ q)
    /// without bias, and its gradient −(1/K) Σₖ ∇ log q(xₖ) is unbiased for ∇ KL. The proposal is p itself (the paper's
    /// importance weights p / r are then 1), so the estimate is the plain mean over the samples. Padded samples (logprob −∞)
    /// count for nothing; a position with none contributes 0.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacher">The teacher's sampled ids (…, K), repeats allowed, and their log-probabilities (…, K).</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    public static Tensor SampledKl(Tensor studentLogits, SampledTeacherTargets teacher, Tensor mask, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(mask);
        var logQ = TokenDistribution.LogSoftmax(studentLogits);
        var teacherLogP = TokenDistribution.Precise(teacher.Logprobs.detach()).to_type(logQ.dtype);
        var valid = teacherLogP.gt(TokenDistribution.LogFloor);
        var logQk = logQ.gather(-1, teacher.Ids.clamp(0, studentLogits.shape[^1] - 1));
        var terms = where(valid, teacherLogP.clamp_min(TokenDistribution.LogFloor) - logQk, zeros_like(logQk));
        var perPosition = terms.sum(-1) / valid.sum(-1).clamp_min(1).to_type(logQ.dtype);
        return LossMath.MaskedMean(perPosition, mask, normalizer);
    }

    /// <summary>
    /// The KD term for any kind of teacher target: <see cref="ForwardKl"/> at <paramref name="temperature"/> for a dense
    /// teacher, <see cref="TopKKl"/> or <see cref="SampledKl"/> (temperature must be 1) for a sparse or sampled one.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacher">The teacher's dense or top-k targets.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="temperature">Softmax temperature for a dense teacher.</param>
    public static Tensor Kd(Tensor studentLogits, TeacherTargets teacher, Tensor mask, double normalizer, double temperature = 1.0) => teacher switch
    {
        DenseTeacherTargets dense => ForwardKl(studentLogits, dense.Logits, mask, normalizer, temperature),
        SparseTeacherTargets sparse when temperature == 1.0 => TopKKl(studentLogits, sparse, mask, normalizer),
        SampledTeacherTargets sampled when temperature == 1.0 => SampledKl(studentLogits, sampled, mask, normalizer),
        SparseTeacherTargets or SampledTeacherTargets => throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "stored teacher logprobs are at temperature 1; a sparse teacher cannot be softened"),
        _ => throw new ArgumentException("unknown kind of teacher targets", nameof(teacher)),
    };

    /// <summary>
    /// The mix of a distillation term and cross-entropy on hard targets: α · KD + (1 − α) · CE (Hinton et al. 2015, §2:
    /// "a weighted average of two different objective functions"; pass a KD term already scaled by T²).
    /// </summary>
    /// <param name="kd">The distillation loss (a scalar tensor).</param>
    /// <param name="crossEntropy">The hard-target cross-entropy (a scalar tensor).</param>
    /// <param name="alpha">Weight α in [0, 1] of the distillation term.</param>
    public static Tensor AlphaMix(Tensor kd, Tensor crossEntropy, double alpha)
    {
        ArgumentNullException.ThrowIfNull(kd);
        ArgumentNullException.ThrowIfNull(crossEntropy);
        if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must lie in [0, 1]");
        return alpha * kd + (1 - alpha) * crossEntropy;
    }
}
