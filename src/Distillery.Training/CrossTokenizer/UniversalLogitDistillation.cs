using System;
using Distillery.Models.Probability;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

public static partial class CrossTokenizerLosses
{
    /// <summary>
    /// Universal logit distillation, ULD (Boizard, El Haddad, Hudelot &amp; Colombo 2024, "Towards Cross-Tokenizer
    /// Distillation: the Universal Logit Distillation Loss for LLMs", arXiv 2402.12030, §3): the Wasserstein-1 distance
    /// between the teacher's and the student's next-token distributions under a cost of 1 between any two distinct tokens of
    /// the two vocabularies, which has the closed form Σᵢ |p₍ᵢ₎ − q₍ᵢ₎| over both probability vectors sorted in decreasing
    /// order, the shorter one padded with zeros. It ignores which token is which: it matches the shape of the distribution.
    /// Positions: the paper pairs the i-th teacher and student positions; here each aligned chunk pairs the teacher's
    /// distribution before its first teacher token with the student's before its first student token, which predict the
    /// text from the same byte offset (a chunk start is a boundary of both streams), so no pair straddles a word.
    /// </summary>
    /// <param name="studentLogits">Student logits, (B, Ts, Vs); position t's logits predict token t.</param>
    /// <param name="teacherLogits">Teacher logits or log-probabilities, (B, Tt, Vt); position t's predict token t.</param>
    /// <param name="chunks">The aligned chunks, packed.</param>
    /// <param name="normalizer">The number of counted chunks across the whole accumulated batch.</param>
    public static Tensor UniversalLogitDistillation(Tensor studentLogits, Tensor teacherLogits, ChunkTensors chunks, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(chunks);
        var q = TokenDistribution.LogSoftmax(chunks.AtStudentStarts(studentLogits)).exp();                          // (B, C, Vs)
        var p = TokenDistribution.LogSoftmax(chunks.AtTeacherStarts(teacherLogits.detach())).exp().to_type(q.dtype); // (B, C, Vt)
        return LossMath.MaskedMean(SortedL1(p, q), chunks.Mask.to(q.device), normalizer);
    }

    /// <summary>Σᵢ |p₍ᵢ₎ − q₍ᵢ₎| over the last dimension, both sorted in decreasing order and the shorter padded with zeros.</summary>
    internal static Tensor SortedL1(Tensor p, Tensor q)
    {
        var width = Math.Max(p.shape[^1], q.shape[^1]);
        var ps = PadLast(p.sort(-1, descending: true).Values, width);
        var qs = PadLast(q.sort(-1, descending: true).Values, width);
        return (ps - qs).abs().sum(-1);
    }

    private static Tensor PadLast(Tensor t, long width) =>
        t.shape[^1] == width ? t : nn.functional.pad(t, [0, width - t.shape[^1]]);
}
