using System;
using Distillery.Models.Probability;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

public static partial class CrossTokenizerLosses
{
    /// <summary>
    /// The hybrid of GOLD (General Online Logit Distillation: Hugging Face TRL's experimental GOLD trainer and its 2025 report
    /// "Unlocking On-Policy Distillation for Any Model Family"): the tokens both vocabularies spell with the same bytes (<see cref="VocabularyMap"/>)
    /// are compared token by token, the rest by their sorted probabilities as in ULD. Here the matched part is the forward KL
    /// over the M shared tokens plus one bucket holding each side's unshared mass (a proper KL over M + 1 outcomes, zero
    /// exactly when the shared probabilities and the unshared mass agree), and the unshared part is
    /// <paramref name="unmatchedWeight"/> · Σᵢ |p₍ᵢ₎ − q₍ᵢ₎| over the unshared tokens' probabilities, sorted. Chosen over ULD
    /// alone because tokenizers of one era share most of their frequent tokens, and on those the identity of the token (not
    /// only the shape of the distribution) is known. With identical vocabularies it is forward KL; with none shared, ULD.
    /// Positions as in <see cref="UniversalLogitDistillation"/>: each chunk's first token on each side.
    /// </summary>
    /// <param name="studentLogits">Student logits, (B, Ts, Vs); position t's logits predict token t.</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (B, Tt, Vt); position t's predict token t.</param>
    /// <param name="chunks">The aligned chunks, packed.</param>
    /// <param name="vocabulary">The tokens the two vocabularies share.</param>
    /// <param name="normalizer">The number of counted chunks across the whole accumulated batch.</param>
    /// <param name="unmatchedWeight">The weight of the sorted-L1 term over unshared tokens (≥ 0).</param>
    public static Tensor HybridMatchedUld(Tensor studentLogits, Tensor teacherLogits, ChunkTensors chunks, VocabularyMap vocabulary, double normalizer, double unmatchedWeight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (!(unmatchedWeight >= 0) || double.IsInfinity(unmatchedWeight)) throw new ArgumentOutOfRangeException(nameof(unmatchedWeight), unmatchedWeight, "the unmatched weight must be finite and non-negative");
        if (studentLogits.shape[^1] != vocabulary.StudentVocabSize || teacherLogits.shape[^1] != vocabulary.TeacherVocabSize)
            throw new ArgumentException($"logits over {teacherLogits.shape[^1]} teacher and {studentLogits.shape[^1]} student ids do not fit a map between vocabularies of {vocabulary.TeacherVocabSize} and {vocabulary.StudentVocabSize}", nameof(vocabulary));

        var logQ = TokenDistribution.LogSoftmax(chunks.AtStudentStarts(studentLogits));                         // (B, C, Vs)
        var logP = TokenDistribution.LogSoftmax(chunks.AtTeacherStarts(teacherLogits.detach())).to_type(logQ.dtype); // (B, C, Vt)
        var device = logQ.device;
        var perChunk = vocabulary.Count == 0 ? zeros(logQ.shape[0], logQ.shape[1], dtype: logQ.dtype, device: device) : MatchedKl(logP, logQ, vocabulary);
        if (unmatchedWeight > 0)
        {
            var teacherShared = zeros(logP.shape[^1], dtype: ScalarType.Bool, device: device).index_fill(0, vocabulary.TeacherIds.to(device), true);
            var studentShared = zeros(logQ.shape[^1], dtype: ScalarType.Bool, device: device).index_fill(0, vocabulary.StudentIds.to(device), true);
            // Shared tokens are selected away (not multiplied): sorted, their zeros join the padding at the end.
            var pRest = where(teacherShared, zeros_like(logP), logP.exp());
            var qRest = where(studentShared, zeros_like(logQ), logQ.exp());
            perChunk = perChunk + unmatchedWeight * SortedL1(pRest, qRest);
        }
        return LossMath.MaskedMean(perChunk, chunks.Mask.to(device), normalizer);
    }

    /// <summary>KL over the shared tokens plus one bucket of unshared mass on each side, (B, C, Vt) and (B, C, Vs) → (B, C).</summary>
    private static Tensor MatchedKl(Tensor logP, Tensor logQ, VocabularyMap vocabulary)
    {
        var logPShared = logP.index_select(-1, vocabulary.TeacherIds.to(logP.device));                          // (B, C, M)
        var logQShared = logQ.index_select(-1, vocabulary.StudentIds.to(logQ.device));                          // (B, C, M)
        var logPRest = LossMath.LogOneMinusExp(logPShared.logsumexp(-1, keepdim: true));                         // (B, C, 1)
        var logQRest = LossMath.LogOneMinusExp(logQShared.logsumexp(-1, keepdim: true));                         // (B, C, 1)
        return TokenDistribution.Kl(cat([logPShared, logPRest], -1), cat([logQShared, logQRest], -1));
    }
}
