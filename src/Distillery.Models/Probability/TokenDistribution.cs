using static TorchSharp.torch;

namespace Distillery.Models.Probability;

/// <summary>
/// Next-token distributions as log-probabilities over the last dimension, and the KL divergence between two of them:
/// the one definition that the losses, training's held-out measures and <c>distill eval</c> share.
/// </summary>
public static class TokenDistribution
{
    /// <summary>
    /// The floor for log-probabilities. exp(−1e4) is exactly 0 in float32 and float64, so a −∞ clamped here keeps
    /// its probability of zero while every product and gradient stays finite (0 · −∞ would be NaN).
    /// </summary>
    public const double LogFloor = -1e4;

    /// <summary>Float32 for half and bfloat16 inputs (the math runs in float32); float32 and float64 are kept as they are.</summary>
    public static Tensor Precise(Tensor t) =>
        t.dtype is ScalarType.Float32 or ScalarType.Float64 ? t : t.to_type(ScalarType.Float32);

    /// <summary>Log-softmax over the last dimension at a temperature, floored so that −∞ becomes a finite, zero-probability value.</summary>
    public static Tensor LogSoftmax(Tensor logits, double temperature = 1.0)
    {
        var x = Precise(logits);
        if (temperature != 1.0) x = x / temperature;
        return x.log_softmax(-1).clamp_min(LogFloor);
    }

    /// <summary>KL(p‖q) over the last dimension from (floored) log-probabilities, 0 · log 0 taken as 0.</summary>
    public static Tensor Kl(Tensor logP, Tensor logQ) => (logP.exp() * (logP - logQ)).sum(-1);

    /// <summary>KL(teacher ‖ student) per position from two logit (or log-probability) tensors of one shape, at temperature 1.</summary>
    public static Tensor KlFromLogits(Tensor teacherLogits, Tensor studentLogits) =>
        Kl(LogSoftmax(teacherLogits), LogSoftmax(studentLogits));
}
