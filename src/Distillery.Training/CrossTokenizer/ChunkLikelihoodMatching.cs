using System;
using Distillery.Models.Probability;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

/// <summary>Distillation losses between a teacher and a student that tokenise the same text differently.</summary>
public static partial class CrossTokenizerLosses
{
    /// <summary>
    /// The log-probability a model gives each of its own tokens: log_softmax(logits) gathered at the token ids, (B, T, V) and
    /// (B, T) → (B, T). Position t's logits must be the ones that predict token t (shift before calling).
    /// </summary>
    /// <param name="logits">Logits, (B, T, V).</param>
    /// <param name="tokens">The tokens whose log-probabilities to take, (B, T) int64; padding may hold any id in range.</param>
    public static Tensor TokenLogprobs(Tensor logits, Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(tokens);
        return TokenDistribution.LogSoftmax(logits).gather(-1, tokens.clamp(0, logits.shape[^1] - 1).unsqueeze(-1)).squeeze(-1);
    }

    /// <summary>
    /// Approximate likelihood matching, ALM (Minixhofer, Vulić &amp; Ponti 2025, "Universal Cross-Tokenizer Distillation via
    /// Approximate Likelihood Matching", arXiv 2503.20083, §3): for each aligned chunk, the teacher's chunk log-probability
    /// log p = Σ of its logprobs over the chunk's teacher tokens and the student's log q likewise, both sharpened by the
    /// temperature τ to p^{1/τ} and q^{1/τ}, compared by the binarised KL divergence — the KL between the two Bernoulli
    /// distributions "the chunk is generated" / "it is not":
    /// D(p, q) = p^{1/τ} (log p − log q)/τ + (1 − p^{1/τ}) (log(1 − p^{1/τ}) − log(1 − q^{1/τ})).
    /// Summed over the chunks in <see cref="ChunkTensors.Mask"/> and divided by <paramref name="normalizer"/>. Needs only the
    /// logprobs of the tokens the teacher produced. Zero when the chunk likelihoods agree; a chunk's probability is a product
    /// over tokens, so long chunks have small p and q, where the binarised KL vanishes; τ &gt; 1 lifts both toward 1 to keep
    /// their gradient (the paper's reference implementation, tokenkit, scales log-probabilities by 1/τ the same way, with
    /// τ = 100 in its cross-tokenizer configuration; τ = 1 is the plain binarised KL). The complement
    /// log(1 − x) is floored so that a chunk of probability 1 gives a finite value and a zero gradient, never NaN.
    /// </summary>
    /// <param name="studentTokenLogprobs">The student's log-probability of each of its tokens, (B, Ts); see <see cref="TokenLogprobs"/>.</param>
    /// <param name="teacherTokenLogprobs">The teacher's log-probability of each of its tokens, (B, Tt) (an API's sampled-token logprobs).</param>
    /// <param name="chunks">The aligned chunks, packed.</param>
    /// <param name="normalizer">The number of counted chunks across the whole accumulated batch.</param>
    /// <param name="temperature">τ &gt; 0: chunk probabilities enter as p^{1/τ}.</param>
    public static Tensor ChunkLikelihoodMatching(Tensor studentTokenLogprobs, Tensor teacherTokenLogprobs, ChunkTensors chunks, double normalizer, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(studentTokenLogprobs);
        ArgumentNullException.ThrowIfNull(teacherTokenLogprobs);
        ArgumentNullException.ThrowIfNull(chunks);
        LossMath.CheckTemperature(temperature);
        var logQ = chunks.StudentSums(TokenDistribution.Precise(studentTokenLogprobs));                          // (B, C)
        var logP = chunks.TeacherSums(TokenDistribution.Precise(teacherTokenLogprobs.detach())).to_type(logQ.dtype); // (B, C)
        // A sum of floored token logprobs stays ≥ a few floors; clamp both to [floor, 0] (rounding can leave a hair above 0).
        logP = logP.clamp(TokenDistribution.LogFloor, 0) / temperature;
        logQ = logQ.clamp(TokenDistribution.LogFloor, 0) / temperature;
        return LossMath.MaskedMean(BinaryKl(logP, logQ), chunks.Mask.to(logQ.device), normalizer);
    }

    /// <summary>
    /// KL(Bernoulli(p) ‖ Bernoulli(q)) from log p and log q (both ≤ 0): p (log p − log q) + (1 − p)(log(1 − p) − log(1 − q)).
    /// </summary>
    internal static Tensor BinaryKl(Tensor logP, Tensor logQ)
    {
        var p = logP.exp();
        return p * (logP - logQ) + (1 - p) * (LossMath.LogOneMinusExp(logP) - LossMath.LogOneMinusExp(logQ));
    }
}
