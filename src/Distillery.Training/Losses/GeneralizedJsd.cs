using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

public static partial class DistillationLosses
{
    /// <summary>
    /// Generalised Jensen–Shannon divergence with β (Agarwal et al. 2023, "On-Policy Distillation of Language Models:
    /// Learning from Self-Generated Mistakes" (GKD), §3): with P the teacher, Q the student and M = βP + (1−β)Q,
    /// JSD(β)(P‖Q) = β · KL(P‖M) + (1−β) · KL(Q‖M), summed over unmasked positions and divided by <paramref name="normalizer"/>.
    /// β = 0.5 is the symmetric JSD.
    /// <para>The endpoints: the formula itself is 0 at β = 0 and β = 1 (M equals Q or P). Its first-order behaviour is
    /// JSD(β) ≈ β · KL(P‖Q) as β → 0 and ≈ (1−β) · KL(Q‖P) as β → 1, which is what the GKD paper means by β interpolating
    /// between the KLs; so, as in TRL's GKD trainer, β = 0 is defined as forward KL(P‖Q) (<see cref="ForwardKl"/>, teacher
    /// first) and β = 1 as reverse KL(Q‖P) (<see cref="ReverseKl"/>). Note the jump: for small β &gt; 0 the value is about β
    /// times the β = 0 value.</para>
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (…, V).</param>
    /// <param name="beta">β in [0, 1]: the teacher's weight in the mixture M.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="temperature">Softmax temperature T &gt; 0 applied to both; the result is scaled by T².</param>
    public static Tensor GeneralizedJsd(Tensor studentLogits, Tensor teacherLogits, double beta, Tensor mask, double normalizer, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(mask);
        if (!(beta is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must lie in [0, 1]");
        if (beta == 0) return ForwardKl(studentLogits, teacherLogits, mask, normalizer, temperature);
        if (beta == 1) return ReverseKl(studentLogits, teacherLogits, mask, normalizer, temperature);
        LossMath.CheckSameShape(studentLogits, teacherLogits);
        LossMath.CheckTemperature(temperature);
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach(), temperature);
        var logQ = TokenDistribution.LogSoftmax(studentLogits, temperature);
        // log M = logsumexp(log β + log P, log(1−β) + log Q), stable in log space.
        var logM = stack([logP + Math.Log(beta), logQ + Math.Log(1 - beta)]).logsumexp(0);
        var perPosition = beta * TokenDistribution.Kl(logP, logM) + (1 - beta) * TokenDistribution.Kl(logQ, logM);
        return LossMath.MaskedMean(perPosition, mask, normalizer) * (temperature * temperature);
    }
}
