using System;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Classification;

/// <summary>Cross-entropy on the hard labels: how the teacher and the baseline student are trained.</summary>
public sealed class HardLabelObjective(nn.Module<Tensor, Tensor> model) : ITrainingObjective<ClassificationBatch>
{
    /// <inheritdoc />
    public Tensor Loss(ClassificationBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var logits = model.call(batch.Inputs);
        return DistillationLosses.CrossEntropy(logits, batch.Labels, ones(batch.Labels.shape, dtype: ScalarType.Bool), normalizer);
    }
}

/// <summary>
/// Hinton et al. (2015) distillation: α · T² · KL(teacher_T ‖ student_T) + (1 − α) · CE(labels), the soft targets at
/// temperature T and a lower-weighted hard-label term.
/// </summary>
public sealed class SoftTargetObjective : ITrainingObjective<ClassificationBatch>
{
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly double temperature, alpha;

    /// <summary>Creates the objective for <paramref name="model"/> at <paramref name="temperature"/> with KD weight <paramref name="alpha"/>.</summary>
    public SoftTargetObjective(nn.Module<Tensor, Tensor> model, double temperature, double alpha)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive");
        if (alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must lie in [0, 1]");
        this.model = model;
        this.temperature = temperature;
        this.alpha = alpha;
    }

    /// <inheritdoc />
    public Tensor Loss(ClassificationBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var teacher = batch.TeacherLogits ?? throw new ArgumentException("distillation needs the teacher's logits in every batch", nameof(batch));
        var logits = model.call(batch.Inputs);
        var mask = ones(batch.Labels.shape, dtype: ScalarType.Bool);
        var kd = DistillationLosses.ForwardKl(logits, teacher, mask, normalizer, temperature);
        var ce = DistillationLosses.CrossEntropy(logits, batch.Labels, mask, normalizer);
        return DistillationLosses.AlphaMix(kd, ce, alpha);
    }
}
