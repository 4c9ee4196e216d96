using System;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>
/// What a teacher says about each position: either a full distribution (a local teacher) or the top-k
/// alternatives an API returns, or tokens sampled from the teacher. A closed sum type: <see cref="DenseTeacherTargets"/>,
/// <see cref="SparseTeacherTargets"/> or <see cref="SampledTeacherTargets"/>.
/// </summary>
public abstract class TeacherTargets
{
    private protected TeacherTargets() { }

    /// <summary>A full teacher distribution from logits or log-probabilities, shape (…, V).</summary>
    public static DenseTeacherTargets Dense(Tensor logits) => new(logits);

    /// <summary>The teacher's top-k token ids and log-probabilities, shapes (…, k), with a policy for the mass outside them.</summary>
    public static SparseTeacherTargets TopK(Tensor ids, Tensor logprobs, TopKTailPolicy tailPolicy) => new(ids, logprobs, tailPolicy);

    /// <summary>K tokens per position drawn with replacement from the teacher at temperature 1, with their log-probabilities, shapes (…, K).</summary>
    public static SampledTeacherTargets Sampled(Tensor ids, Tensor logprobs) => new(ids, logprobs);

    private protected static void CheckShapes(Tensor ids, Tensor logprobs, string what)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(logprobs);
        if (!ids.shape.AsSpan().SequenceEqual(logprobs.shape))
            throw new ArgumentException($"{what} ids [{string.Join(", ", ids.shape)}] and logprobs [{string.Join(", ", logprobs.shape)}] differ in shape", nameof(logprobs));
        if (ids.dtype != ScalarType.Int64) throw new ArgumentException($"{what} ids must be int64", nameof(ids));
    }
}

/// <summary>A full teacher distribution, shape (…, V): logits or log-probabilities (the loss applies log-softmax, which is the same for both).</summary>
public sealed class DenseTeacherTargets : TeacherTargets
{
    internal DenseTeacherTargets(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        Logits = logits;
    }

    /// <summary>Teacher logits or log-probabilities, (…, V); −∞ allowed for impossible tokens.</summary>
    public Tensor Logits { get; }
}

/// <summary>
/// A sparse teacher distribution: for each position the ids of its k most likely tokens and their log-probabilities
/// (at temperature 1, as an API returns them). Positions with fewer alternatives pad with logprob −∞ (any id).
/// </summary>
public sealed class SparseTeacherTargets : TeacherTargets
{
    internal SparseTeacherTargets(Tensor ids, Tensor logprobs, TopKTailPolicy tailPolicy)
    {
        CheckShapes(ids, logprobs, "top-k");
        Ids = ids;
        Logprobs = logprobs;
        TailPolicy = tailPolicy;
    }

    /// <summary>Token ids in the student's vocabulary, (…, k), int64.</summary>
    public Tensor Ids { get; }

    /// <summary>The teacher's log-probabilities of those tokens over its full vocabulary, (…, k).</summary>
    public Tensor Logprobs { get; }

    /// <summary>What to do with the probability mass outside the top-k.</summary>
    public TopKTailPolicy TailPolicy { get; }
}

/// <summary>
/// Tokens sampled from the teacher: for each position K ids drawn with replacement from its distribution at temperature 1
/// (repeats stay repeated: they are the estimate's weights), with their log-probabilities. Padded slots have logprob −∞.
/// </summary>
public sealed class SampledTeacherTargets : TeacherTargets
{
    internal SampledTeacherTargets(Tensor ids, Tensor logprobs)
    {
        CheckShapes(ids, logprobs, "sampled");
        Ids = ids;
        Logprobs = logprobs;
    }

    /// <summary>Sampled token ids in the student's vocabulary, (…, K), int64.</summary>
    public Tensor Ids { get; }

    /// <summary>The teacher's log-probabilities of those tokens, (…, K).</summary>
    public Tensor Logprobs { get; }
}

/// <summary>How top-k KL treats the probability mass the teacher put outside its top-k tokens.</summary>
public enum TopKTailPolicy
{
    /// <summary>
    /// Condition both teacher and student on the top-k set: each is renormalised over those k tokens and the KL is taken
    /// between the two conditional distributions. Ignores how much mass lies outside; exact when k = V.
    /// </summary>
    [JsonStringEnumMemberName("renormalise")] // the option value users already pass
    Renormalize,

    /// <summary>
    /// Add one bucket holding everything outside the top-k: the teacher's tail is 1 − Σ top-k probabilities and the
    /// student's tail is 1 − Σ of its probabilities on the same ids; the KL runs over k + 1 outcomes. Keeps the student
    /// from piling mass on tokens the teacher did not rank; exact when k = V (both tails are then 0).
    /// </summary>
    FoldTailIntoBucket,

    /// <summary>
    /// Spread the teacher's tail 1 − Σ top-k probabilities evenly over the V − k tokens it did not rank, and take the full
    /// KL over the vocabulary: the student is pulled towards a flat tail instead of being free there (renormalise) or
    /// free within one bucket (fold). Exact when k = V.
    /// </summary>
    UniformTail,
}
