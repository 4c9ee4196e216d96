using System;
using Distillery.Models.Probability;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

public static partial class CrossTokenizerLosses
{
    /// <summary>
    /// Top-k KL at chunk starts: the teacher's top-k alternatives at each chunk's first teacher token, moved to the student's
    /// vocabulary by <see cref="ChunkStartTargets"/>, against the student's distribution for the chunk's first student token,
    /// through <see cref="DistillationLosses.TopKKl"/> with the targets' tail policy. Both tokens predict the text from the
    /// same byte offset (the chunk start is a boundary of both streams). Chunks with no matched alternative do not count.
    /// With identical tokenizers every chunk is one token on each side and this equals <see cref="DistillationLosses.TopKKl"/>.
    /// Under <see cref="AlternativeMatch.Prefix"/> the targets are groups: the student's distribution is first summed into its
    /// groups and the tail (<see cref="ChunkStartGroups.LogMass"/>), and the KL is taken over those (renormalise or fold the tail;
    /// a uniform tail over groups is not defined).
    /// </summary>
    /// <param name="studentLogits">Student logits, (B, Ts, V); position t's logits predict token t.</param>
    /// <param name="chunks">The aligned chunks, packed.</param>
    /// <param name="targets">The alternatives in the student's vocabulary.</param>
    /// <param name="normalizer">The number of counted chunks with a target across the whole accumulated batch.</param>
    public static Tensor TopKAtChunkStarts(Tensor studentLogits, ChunkTensors chunks, ChunkStartTargets targets, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(targets);
        // Every tensor made here stays referenced by the scope until the loss is out: a temporary's managed wrapper that the
        // garbage collector finalized while a long native call (the group sums) still used its handle would be freed under it.
        using var scope = NewDisposeScope();
        var atStarts = chunks.AtStudentStarts(studentLogits);                           // (B, C, V)
        var device = studentLogits.device;
        var mask = chunks.Mask.to(device).logical_and(targets.HasTarget.to(device));
        var sparse = TeacherTargets.TopK(targets.Targets.Ids.to(device), targets.Targets.Logprobs.to(device), targets.Targets.TailPolicy);
        if (targets.Groups is { } groups)
        {
            if (sparse.TailPolicy == TopKTailPolicy.UniformTail)
                throw new ArgumentException("a uniform tail is not defined over groups of student tokens; use renormalise or fold-tail-into-bucket", nameof(targets));
            atStarts = groups.LogMass(TokenDistribution.LogSoftmax(atStarts), sparse.Ids.shape[^1]); // (B, C, K + 1)
        }
        var loss = DistillationLosses.TopKKl(atStarts, sparse, mask, normalizer).MoveToOuterDisposeScope();
        GC.KeepAlive(chunks);
        GC.KeepAlive(targets);
        return loss;
    }
}
