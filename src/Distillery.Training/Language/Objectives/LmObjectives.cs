using System;
using Distillery.Core.Hashing;
using Distillery.Models.Llama;
using Distillery.Models.Probability;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>Sequence-level KD (Kim &amp; Rush 2016): cross-entropy on the teacher's text, completion tokens only.</summary>
public sealed class SftObjective(LlamaForCausalLM student) : ITrainingObjective<LmBatch>
{
    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var logits = student.Forward(batch.Inputs).Logits; // (B, T, V)
        return DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, normalizer);
    }
}

/// <summary>
/// Token-level KD from a dataset's stored teacher logprobs: α · TopKKl + (1 − α) · CE on the teacher's text, or with
/// <c>fromSamples</c> α · SampledKl over the stored teacher samples (random-sampling KD). Positions without stored
/// alternatives (an appended end-of-sequence) count in the CE term only.
/// </summary>
public sealed class TopKObjective : ITrainingObjective<LmBatch>
{
    private readonly LlamaForCausalLM student;
    private readonly TopKTailPolicy tailPolicy;
    private readonly double alpha;
    private readonly bool fromSamples;

    /// <summary>Creates the objective; <paramref name="fromSamples"/>: the batches carry teacher samples, not top-k alternatives.</summary>
    public TopKObjective(LlamaForCausalLM student, TopKTailPolicy tailPolicy, double alpha, bool fromSamples = false)
    {
        ArgumentNullException.ThrowIfNull(student);
        if (!(alpha is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1]");
        this.student = student;
        this.tailPolicy = tailPolicy;
        this.alpha = alpha;
        this.fromSamples = fromSamples;
    }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.TopKIds is null || batch.TopKLogprobs is null || batch.TopKMask is null)
            throw new ArgumentException("top-k distillation needs batches built with the rows' top-k logprobs", nameof(batch));
        var logits = student.Forward(batch.Inputs).Logits; // (B, T, V)
        TeacherTargets targets = fromSamples
            ? TeacherTargets.Sampled(batch.TopKIds, batch.TopKLogprobs)
            : TeacherTargets.TopK(batch.TopKIds, batch.TopKLogprobs, tailPolicy);
        var kd = DistillationLosses.Kd(logits, targets, batch.TopKMask, normalizer);
        var ce = DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, normalizer);
        return DistillationLosses.AlphaMix(kd, ce, alpha);
    }
}

/// <summary>How a white-box run weighs its terms.</summary>
/// <param name="Divergence">The token-level divergence to the teacher.</param>
/// <param name="Temperature">Softmax temperature T (results scaled by T²).</param>
/// <param name="Beta">β of the generalised JSD.</param>
/// <param name="Alpha">Weight α of the divergence against (1 − α) cross-entropy on the dataset's text.</param>
/// <param name="HiddenWeight">Weight of hidden-state matching (0: off); needs the student's projection.</param>
/// <param name="HiddenMetric">How hidden states are compared.</param>
/// <param name="TeacherSamples">Above 0: random-sampling KD, estimating forward KL from this many tokens drawn per position from the teacher (T = 1).</param>
/// <param name="SampleSeed">Seed of those draws, mixed with each batch's epoch and index so a resumed run draws the same ones.</param>
public sealed record WhiteBoxLoss(TokenDivergence Divergence = TokenDivergence.ForwardKl, double Temperature = 1.0, double Beta = 0.5,
    double Alpha = 1.0, double HiddenWeight = 0.0, HiddenStateMetric HiddenMetric = HiddenStateMetric.Mse, int TeacherSamples = 0, long SampleSeed = 1);

/// <summary>
/// White-box distillation: a local teacher computes full logits (and last hidden states) on the fly under no_grad; the
/// student minimises the chosen divergence, mixed with cross-entropy by α, plus optional hidden-state matching through
/// the learned projection.
/// </summary>
public sealed class WhiteBoxObjective : ITrainingObjective<LmBatch>
{
    private readonly DistillationStudent model;
    private readonly LlamaForCausalLM teacher;
    private readonly WhiteBoxLoss loss;

    /// <summary>Creates the objective; the teacher must share the student's vocabulary and is never trained.</summary>
    public WhiteBoxObjective(DistillationStudent model, LlamaForCausalLM teacher, WhiteBoxLoss loss)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(loss);
        if (teacher.Config.VocabSize != model.Student.Config.VocabSize)
            throw new ArgumentException($"the teacher's vocabulary ({teacher.Config.VocabSize}) differs from the student's ({model.Student.Config.VocabSize})", nameof(teacher));
        if (loss.HiddenWeight > 0 && model.Projection is null && teacher.Config.HiddenSize != model.Student.Config.HiddenSize)
            throw new ArgumentException("hidden-state matching between different widths needs the student's projection", nameof(model));
        this.model = model;
        this.teacher = teacher;
        this.loss = loss;
    }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer) => Loss(batch, normalizer, loss.Alpha);

    /// <summary>
    /// The loss with an explicit α (on-policy samples have no reference text, so they use α = 1); <paramref name="sampled"/>
    /// says the batch's completions are the student's own samples, which the sampled reverse KL needs.
    /// </summary>
    public Tensor Loss(LmBatch batch, double normalizer, double alpha, bool sampled = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var hidden = loss.HiddenWeight > 0;
        CausalLmOutput teacherOut;
        using (no_grad()) teacherOut = teacher.Forward(batch.Inputs, outputHiddenStates: hidden);
        var studentOut = model.Student.Forward(batch.Inputs, outputHiddenStates: hidden); // logits (B, T, V)
        var kd = loss.TeacherSamples > 0 ? DistillationLosses.SampledKl(studentOut.Logits, SampleTeacher(teacherOut.Logits, batch), batch.LossMask, normalizer) : loss.Divergence switch
        {
            TokenDivergence.ForwardKl => DistillationLosses.ForwardKl(studentOut.Logits, teacherOut.Logits, batch.LossMask, normalizer, loss.Temperature),
            TokenDivergence.ReverseKl => DistillationLosses.ReverseKl(studentOut.Logits, teacherOut.Logits, batch.LossMask, normalizer, loss.Temperature),
            TokenDivergence.Jsd => DistillationLosses.GeneralizedJsd(studentOut.Logits, teacherOut.Logits, loss.Beta, batch.LossMask, normalizer, loss.Temperature),
            // On text the student did not sample (the 1 − λ batches, evaluation) the estimator is off-policy: use the exact
            // per-position reverse KL it estimates instead.
            TokenDivergence.SampledReverseKl => sampled
                ? DistillationLosses.SampledReverseKl(studentOut.Logits, teacherOut.Logits, batch.Targets, batch.LossMask, normalizer)
                : DistillationLosses.ReverseKl(studentOut.Logits, teacherOut.Logits, batch.LossMask, normalizer),
            _ => throw new ArgumentOutOfRangeException(nameof(batch), loss.Divergence, "unknown divergence"),
        };
        var total = alpha < 1 ? DistillationLosses.AlphaMix(kd, DistillationLosses.CrossEntropy(studentOut.Logits, batch.Targets, batch.LossMask, normalizer), alpha) : kd;
        if (hidden)
            total = total + loss.HiddenWeight * DistillationLosses.HiddenStateMatch(studentOut.HiddenStates![^1], teacherOut.HiddenStates![^1],
                loss.HiddenMetric, batch.LossMask, normalizer, model.Projection);
        return total;
    }

    /// <summary>K tokens per position drawn with replacement from softmax(teacher logits), seeded by (seed, epoch, batch index), with their logprobs.</summary>
    private SampledTeacherTargets SampleTeacher(Tensor teacherLogits, LmBatch batch)
    {
        using var generator = new Generator((ulong)SeedMix.Of(loss.SampleSeed, batch.Epoch, batch.Index));
        var logP = TokenDistribution.LogSoftmax(teacherLogits.detach());                        // (B, T, V)
        var vocab = logP.shape[^1];
        var ids = multinomial(logP.exp().reshape(-1, vocab), loss.TeacherSamples, replacement: true, generator: generator)
            .reshape([.. logP.shape[..^1], loss.TeacherSamples]);                                // (B, T, K)
        return TeacherTargets.Sampled(ids, logP.gather(-1, ids));
    }
}
