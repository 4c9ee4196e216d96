using System;
using Distillery.Core.Chat;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
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
/// What every objective across tokenizers shares: its argument checks, and α · (its chunk loss) + (1 − α) · CE on the
/// teacher's text in the student's tokens.
/// </summary>
public abstract class CrossTokenizerObjective : ITrainingObjective<LmBatch>
{
    private readonly double alpha;

    /// <summary>Checks and keeps the arguments; <paramref name="fromFullLogits"/> says which data the derived objective reads.</summary>
    private protected CrossTokenizerObjective(LlamaForCausalLM student, CrossTokenizerMethod method, bool fromFullLogits, double alpha)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (fromFullLogits ? method.UsesAlm() : method.NeedsFullLogits())
            throw new ArgumentException(fromFullLogits
                ? $"{method} needs the teacher's stored tokens; white-box uses uld, hybrid or topk-chunk-starts"
                : $"{method} needs a local teacher's full logits, not stored top-k data", nameof(method));
        if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1]");
        Student = student;
        Method = method;
        this.alpha = alpha;
    }

    /// <summary>The student being trained.</summary>
    private protected LlamaForCausalLM Student { get; }

    /// <summary>The chunk loss used.</summary>
    private protected CrossTokenizerMethod Method { get; }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (kd, logits) = ChunkLoss(batch, CrossTokenizerBatch.Of(batch), normalizer);
        var ce = DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, normalizer);
        return DistillationLosses.AlphaMix(kd, ce, alpha);
    }

    /// <summary>The chunk loss of one micro-batch, and the student's logits over its inputs, (B, T, V).</summary>
    private protected abstract (Tensor Kd, Tensor Logits) ChunkLoss(LmBatch batch, CrossTokenizerBatch cross, double normalizer);

    /// <summary>Top-k KL at chunk starts, averaged over the chunks that have a target.</summary>
    private protected static Tensor TopKAtStarts(Tensor studentLogits, LmBatch batch, CrossTokenizerBatch cross, ChunkStartTargets targets, double normalizer)
    {
        var withTarget = cross.Chunks.Mask.logical_and(targets.HasTarget).sum().item<long>();
        return CrossTokenizerLosses.TopKAtChunkStarts(studentLogits, cross.Chunks, targets, ChunkNormalizer.Of(normalizer, batch, withTarget));
    }
}

/// <summary>
/// Top-k distillation across tokenizers from a dataset's stored tokens. ALM compares every aligned chunk's likelihood;
/// top-k at chunk starts moves the stored alternatives the student spells into its vocabulary;
/// <see cref="CrossTokenizerMethod.AlmAndTopk"/> adds both.
/// </summary>
public sealed class CrossTokenizerTopKObjective : CrossTokenizerObjective
{
    private readonly StudentSpelling spelling;
    private readonly TopKTailPolicy tailPolicy;

    /// <summary>Creates the objective; the method must work from stored logprobs (not ULD or the hybrid).</summary>
    public CrossTokenizerTopKObjective(LlamaForCausalLM student, CrossTokenizerMethod method, StudentSpelling spelling, TopKTailPolicy tailPolicy, double alpha)
        : base(student, method, fromFullLogits: false, alpha)
    {
        ArgumentNullException.ThrowIfNull(spelling);
        this.spelling = spelling;
        this.tailPolicy = tailPolicy;
    }

    private protected override (Tensor Kd, Tensor Logits) ChunkLoss(LmBatch batch, CrossTokenizerBatch cross, double normalizer)
    {
        var logits = Student.Forward(batch.Inputs).Logits; // (B, T, V)
        Tensor? kd = null;
        if (Method.UsesAlm())
        {
            var studentLogprobs = CrossTokenizerLosses.TokenLogprobs(logits, batch.Targets); // (B, T)
            kd = CrossTokenizerLosses.ChunkLikelihoodMatching(studentLogprobs, cross.TeacherTokenLogprobs!, cross.Chunks,
                ChunkNormalizer.Of(normalizer, batch, cross.Chunks.Count));
        }
        if (Method.UsesTopK())
        {
            var targets = ChunkStartTargets.Build(cross.Rows, cross.Chunks, cross.TeacherTokens, spelling, tailPolicy);
            var topK = TopKAtStarts(logits, batch, cross, targets, normalizer);
            kd = kd is null ? topK : kd + topK;
        }
        return (kd!, logits);
    }
}

/// <summary>
/// White-box distillation across tokenizers: a local teacher of another vocabulary reads its own tokenisation of each row,
/// and its full distribution at each aligned chunk's start is compared with the student's by ULD or the hybrid, or its
/// top-k there (as an API would give them, k = 20) by top-k at chunk starts.
/// </summary>
public sealed class CrossTokenizerWhiteBoxObjective : CrossTokenizerObjective
{
    private readonly ModelBundle teacher;
    private readonly VocabularyMap vocabulary;
    private readonly StudentSpelling spelling;
    private readonly TopKTailPolicy tailPolicy;

    /// <summary>Creates the objective; <paramref name="vocabulary"/> maps the teacher's tokenizer onto the student's, <paramref name="spelling"/> and <paramref name="tailPolicy"/> serve top-k at chunk starts.</summary>
    public CrossTokenizerWhiteBoxObjective(LlamaForCausalLM student, ModelBundle teacher, CrossTokenizerMethod method, VocabularyMap vocabulary, StudentSpelling spelling, TopKTailPolicy tailPolicy, double alpha)
        : base(student, method, fromFullLogits: true, alpha)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(spelling);
        this.teacher = teacher;
        this.vocabulary = vocabulary;
        this.spelling = spelling;
        this.tailPolicy = tailPolicy;
    }

    private protected override (Tensor Kd, Tensor Logits) ChunkLoss(LmBatch batch, CrossTokenizerBatch cross, double normalizer)
    {
        if (cross.TeacherInputs is null) throw new ArgumentException("white-box rows need the teacher's own ids", nameof(batch));
        Tensor teacherLogits;
        // A model may pad its vocabulary beyond its tokenizer's; the map (and the loss) covers the tokenizer's ids.
        using (no_grad()) teacherLogits = teacher.Model.Forward(cross.TeacherInputs).Logits.narrow(-1, 0, vocabulary.TeacherVocabSize); // (B, Tt, Vt)
        var logits = Student.Forward(batch.Inputs).Logits;                                                                         // (B, T, V)
        var studentLogits = logits.narrow(-1, 0, vocabulary.StudentVocabSize);
        var chunkNormalizer = ChunkNormalizer.Of(normalizer, batch, cross.Chunks.Count);
        var kd = Method switch
        {
            CrossTokenizerMethod.Uld => CrossTokenizerLosses.UniversalLogitDistillation(studentLogits, teacherLogits, cross.Chunks, chunkNormalizer),
            CrossTokenizerMethod.Hybrid => CrossTokenizerLosses.HybridMatchedUld(studentLogits, teacherLogits, cross.Chunks, vocabulary, chunkNormalizer),
            _ => TopKAtStarts(studentLogits, batch, cross,
                ChunkStartTargets.FromDistribution(cross.Rows, cross.Chunks, teacherLogits, teacher.Tokenizer, SamplingParameters.MaxTopLogprobs, spelling, tailPolicy), normalizer),
        };
        return (kd, logits);
    }
}
