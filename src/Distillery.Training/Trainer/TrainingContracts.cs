using static TorchSharp.torch;

namespace Distillery.Training.Trainer;

/// <summary>A micro-batch the trainer can weigh: it knows how many positions count towards the loss's normalizer.</summary>
public interface ITrainingBatch
{
    /// <summary>Unmasked positions (tokens, or examples for a classifier) in this micro-batch.</summary>
    long Count { get; }
}

/// <summary>
/// Where micro-batches come from: deterministic in (epoch, index), so that a resumed run sees exactly the data an
/// uninterrupted one would have seen. Shuffling, if any, must be seeded by the source's seed and the epoch.
/// </summary>
public interface IBatchSource<out TBatch> where TBatch : ITrainingBatch
{
    /// <summary>Micro-batches in one pass over the data.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>The micro-batch at position <paramref name="index"/> of epoch <paramref name="epoch"/>; its tensors are disposed with the caller's scope.</summary>
    TBatch GetBatch(int epoch, int index);
}

/// <summary>What is trained: the loss of a micro-batch under the model, as a pure function of the batch.</summary>
public interface ITrainingObjective<in TBatch> where TBatch : ITrainingBatch
{
    /// <summary>
    /// The loss of one micro-batch: its sum over unmasked positions divided by <paramref name="normalizer"/>, the number of
    /// unmasked positions across the whole accumulated batch (so the accumulated gradient is that of the batch mean).
    /// </summary>
    Tensor Loss(TBatch batch, double normalizer);
}

/// <summary>
/// An objective that does not always train on the batch it is given (on-policy: the student's own samples in place of the
/// dataset's text): it counts the tokens the teacher wrote or scored for the batches it trained on, for metrics.jsonl.
/// </summary>
public interface ITeacherTokenCount
{
    /// <summary>The teacher's tokens trained on since the last call, and starts counting again.</summary>
    long TakeTeacherTokens();
}
