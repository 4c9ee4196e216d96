using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Classification;

/// <summary>A micro-batch of feature vectors with their labels and, for distillation, the teacher's logits.</summary>
/// <param name="Inputs">Features, (B, D) float32.</param>
/// <param name="Labels">Class ids, (B) int64.</param>
/// <param name="TeacherLogits">The teacher's logits for the same examples, (B, C), or null.</param>
public sealed record ClassificationBatch(Tensor Inputs, Tensor Labels, Tensor? TeacherLogits) : ITrainingBatch
{
    /// <inheritdoc />
    public long Count => Labels.shape[0];
}
