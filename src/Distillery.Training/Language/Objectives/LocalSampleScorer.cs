using System;
using Distillery.Training.Language.Data;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>A local teacher scores the samples in one forward pass, with the white-box run's divergence (any of them; α = 1: samples have no reference text).</summary>
public sealed class LocalSampleScorer(WhiteBoxObjective whiteBox) : ISampleScorer
{
    private readonly WhiteBoxObjective whiteBox = whiteBox ?? throw new ArgumentNullException(nameof(whiteBox));

    /// <inheritdoc />
    public Tensor Loss(LmBatch samples, double normalizer) => whiteBox.Loss(samples, normalizer, alpha: 1.0, sampled: true);
}
