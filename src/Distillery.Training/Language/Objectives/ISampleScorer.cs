using Distillery.Training.Language.Data;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>How the teacher scores the student's own samples in an on-policy step: a local teacher's forward pass, or a teacher behind an API.</summary>
public interface ISampleScorer
{
    /// <summary>The divergence to the teacher on a batch whose completions the student sampled, normalised by <paramref name="normalizer"/>.</summary>
    Tensor Loss(LmBatch samples, double normalizer);
}
