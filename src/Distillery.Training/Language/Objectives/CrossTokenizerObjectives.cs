using System;
using Distillery.Models.Llama;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// The trainer hands every micro-batch a normalizer that counts completion tokens across the accumulated step; a chunk loss
/// divides by chunks instead. Scaling by this micro-batch's share keeps its weight in the step and averages over its chunks.
/// </summary>
internal static class ChunkNormalizer
{
    /// <summary>normalizer · chunks / tokens: the step's chunk count if every micro-batch had this one's chunks per token.</summary>
    public static double Of(double normalizer, LmBatch batch, long chunks) => normalizer * Math.Max(1, chunks) / Math.Max(1, batch.Count);
}

/// <summary>
/// Top-k distillation across tokenizers from a dataset's stored tokens: α · (the chosen chunk loss) + (1 − α) · CE on the
/// teacher's text in the student's tokens. ALM compares every aligned chunk's likelihood; top-k at chunk starts moves the
/// stored alternatives the student spells into its vocabulary; <see cref="CrossTokenizerMethod.AlmAndTopk"/> adds both.
/// </summary>
public sealed class CrossTokenizerTopKObjective : ITrainingObjective<LmBatch>
{
    private readonly LlamaForCausalLM student;
    private readonly CrossTokenizerMethod method;
    private readonly StudentSpelling spelling;
    private readonly TopKTailPolicy tailPolicy;
    private readonly double alpha;

    /// <summary>Creates the objective; the method must work from stored logprobs (not ULD or the hybrid).</summary>
    public CrossTokenizerTopKObjective(LlamaForCausalLM student, CrossTokenizerMethod method, StudentSpelling spelling, TopKTailPolicy tailPolicy, double alpha)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(spelling);
        if (method.NeedsFullLogits()) throw new ArgumentException($"{method} needs a local teacher's full logits, not stored top-k data", nameof(method));
        if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1]");
        this.student = student;
        this.method = method;
        this.spelling = spelling;
        this.tailPolicy = tailPolicy;
        this.alpha = alpha;
    }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var cross = CrossTokenizerBatch.Of(batch);
        var logits = student.Forward(batch.Inputs).Logits; // (B, T, V)
        Tensor? kd = null;
        if (method.UsesAlm())
        {
            var studentLogprobs = CrossTokenizerLosses.TokenLogprobs(logits, batch.Targets); // (B, T)
            kd = CrossTokenizerLosses.ChunkLikelihoodMatching(studentLogprobs, cross.TeacherTokenLogprobs!, cross.Chunks,
                ChunkNormalizer.Of(normalizer, batch, cross.Chunks.Count));
        }
        if (method.UsesTopK())
        {
            var targets = ChunkStartTargets.Build(cross.Rows, cross.Chunks, cross.TeacherTokens, spelling, tailPolicy);
            var withTarget = cross.Chunks.Mask.logical_and(targets.HasTarget).sum().item<long>();
            var topK = CrossTokenizerLosses.TopKAtChunkStarts(logits, cross.Chunks, targets, ChunkNormalizer.Of(normalizer, batch, withTarget));
            kd = kd is null ? topK : kd + topK;
        }
        var ce = DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, normalizer);
        return DistillationLosses.AlphaMix(kd!, ce, alpha);
    }
}

/// <summary>
/// White-box distillation across tokenizers: a local teacher of another vocabulary reads its own tokenisation of each row,
/// and its full distribution at each aligned chunk's start is compared with the student's by ULD or the hybrid; α mixes
/// in CE on the teacher's text.
/// </summary>
public sealed class CrossTokenizerWhiteBoxObjective : ITrainingObjective<LmBatch>
{
    private readonly LlamaForCausalLM student, teacher;
    private readonly CrossTokenizerMethod method;
    private readonly VocabularyMap vocabulary;
    private readonly double alpha;

    /// <summary>Creates the objective; <paramref name="vocabulary"/> maps the teacher's tokenizer onto the student's.</summary>
    public CrossTokenizerWhiteBoxObjective(LlamaForCausalLM student, LlamaForCausalLM teacher, CrossTokenizerMethod method, VocabularyMap vocabulary, double alpha)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (!method.NeedsFullLogits()) throw new ArgumentException($"{method} works from stored top-k data; white-box uses uld or hybrid", nameof(method));
        if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1]");
        this.student = student;
        this.teacher = teacher;
        this.method = method;
        this.vocabulary = vocabulary;
        this.alpha = alpha;
    }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var cross = CrossTokenizerBatch.Of(batch);
        if (cross.TeacherInputs is null) throw new ArgumentException("white-box rows need the teacher's own ids", nameof(batch));
        Tensor teacherLogits;
        // A model may pad its vocabulary beyond its tokenizer's; the map (and the loss) covers the tokenizer's ids.
        using (no_grad()) teacherLogits = teacher.Forward(cross.TeacherInputs).Logits.narrow(-1, 0, vocabulary.TeacherVocabSize); // (B, Tt, Vt)
        var logits = student.Forward(batch.Inputs).Logits;                                                                         // (B, T, V)
        var studentLogits = logits.narrow(-1, 0, vocabulary.StudentVocabSize);
        var chunkNormalizer = ChunkNormalizer.Of(normalizer, batch, cross.Chunks.Count);
        var kd = method == CrossTokenizerMethod.Uld
            ? CrossTokenizerLosses.UniversalLogitDistillation(studentLogits, teacherLogits, cross.Chunks, chunkNormalizer)
            : CrossTokenizerLosses.HybridMatchedUld(studentLogits, teacherLogits, cross.Chunks, vocabulary, chunkNormalizer);
        var ce = DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, normalizer);
        return DistillationLosses.AlphaMix(kd, ce, alpha);
    }
}
