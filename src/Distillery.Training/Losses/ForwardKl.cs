using System;
using Distillery.Models.Probability;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

public static partial class DistillationLosses
{
    /// <summary>
    /// Forward KL at temperature T, scaled by T² (Hinton, Vinyals &amp; Dean 2015, "Distilling the Knowledge in a Neural
    /// Network", §2): T² · Σ_masked KL(p_T ‖ q_T) / <paramref name="normalizer"/> with p_T = softmax(teacher/T) and
    /// q_T = softmax(student/T). The T² keeps the gradient, (1/T)(q_T − p_T) per logit (their eq. 2), on the same scale as
    /// the hard-label term when T changes. Mean-seeking: the student covers every mode of the teacher.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (…, V); −∞ allowed.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="temperature">Softmax temperature T &gt; 0 applied to both.</param>
    public static Tensor ForwardKl(Tensor studentLogits, Tensor teacherLogits, Tensor mask, double normalizer, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(mask);
        LossMath.CheckSameShape(studentLogits, teacherLogits);
        LossMath.CheckTemperature(temperature);
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach(), temperature);
        var logQ = TokenDistribution.LogSoftmax(studentLogits, temperature);
        return LossMath.MaskedMean(TokenDistribution.Kl(logP, logQ), mask, normalizer) * (temperature * temperature);
    }

    /// <summary>
    /// Reverse KL, Σ_masked KL(q ‖ p) / <paramref name="normalizer"/> (Gu et al. 2023, "MiniLLM: Knowledge Distillation of
    /// Large Language Models", eq. 1, here token-level over the teacher's full distribution). Mode-seeking: the student
    /// puts its mass where the teacher is confident instead of spreading it over every teacher mode. At a temperature,
    /// both distributions are softened and the result is scaled by T² as for <see cref="ForwardKl"/>.
    /// </summary>
    /// <param name="studentLogits">Student logits, (…, V).</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (…, V); −∞ is floored so the loss stays finite.</param>
    /// <param name="mask">Which positions count, (…).</param>
    /// <param name="normalizer">Number of unmasked positions across the whole accumulated batch.</param>
    /// <param name="temperature">Softmax temperature T &gt; 0 applied to both.</param>
    public static Tensor ReverseKl(Tensor studentLogits, Tensor teacherLogits, Tensor mask, double normalizer, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(mask);
        LossMath.CheckSameShape(studentLogits, teacherLogits);
        LossMath.CheckTemperature(temperature);
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach(), temperature);
        var logQ = TokenDistribution.LogSoftmax(studentLogits, temperature);
        return LossMath.MaskedMean(TokenDistribution.Kl(logQ, logP), mask, normalizer) * (temperature * temperature);
    }
}
