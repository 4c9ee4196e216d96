using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Hashing;
using Distillery.Models.Decoding;
using Distillery.Training.Language.Data;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>How an on-policy run samples the student's continuations.</summary>
/// <param name="Lambda">λ: the probability that a training batch is the student's own samples.</param>
/// <param name="MaxNewTokens">The most tokens sampled per prompt.</param>
/// <param name="MaxLength">The longest sequence, prompt included.</param>
/// <param name="Seed">Seeds the coin and the draws, with the batch's epoch and index.</param>
/// <param name="Temperature">The student's sampling temperature (0 is greedy); not the KD softmax temperature.</param>
/// <param name="StopIds">Ids that end a continuation (kept in it).</param>
public sealed record OnPolicySampling(double Lambda, int MaxNewTokens, int MaxLength, long Seed, double Temperature, IReadOnlyCollection<int> StopIds);

/// <summary>
/// On-policy distillation (GKD, Agarwal et al. 2023, Algorithm 1): with probability λ per training batch the student samples
/// every prompt's continuation at once (one batched, KV-cached decode; at most <c>MaxNewTokens</c> each), the teacher scores
/// them (<see cref="ISampleScorer"/>: a local teacher's forward pass over the whole batch, or a teacher behind an API), and the
/// divergence runs on the student's own tokens; otherwise the off-policy objective runs on the dataset's teacher text. The coin and the samples are seeded by (seed, epoch, batch index), so a resumed run draws the
/// same ones and the same command gives the same student. Evaluation always uses the dataset's text.
/// </summary>
public sealed class OnPolicyObjective : ITrainingObjective<LmBatch>, ITeacherTokenCount
{
    private readonly DistillationStudent model;
    private readonly ITrainingObjective<LmBatch> inner;
    private readonly ISampleScorer scorer;
    private readonly OnPolicySampling sampling;
    private long teacherTokens;

    /// <summary>Creates the objective: <paramref name="inner"/> on the dataset's text (and in evaluation), <paramref name="scorer"/> on the student's samples.</summary>
    public OnPolicyObjective(DistillationStudent model, ITrainingObjective<LmBatch> inner, ISampleScorer scorer, OnPolicySampling sampling)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(sampling.StopIds);
        if (!(sampling.Lambda is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(sampling), sampling.Lambda, "λ must lie in [0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(sampling.MaxNewTokens, 1);
        if (!(sampling.Temperature >= 0) || double.IsInfinity(sampling.Temperature))
            throw new ArgumentOutOfRangeException(nameof(sampling), sampling.Temperature, "the sampling temperature must be finite and not negative");
        this.model = model;
        this.inner = inner;
        this.scorer = scorer;
        this.sampling = sampling;
    }

    /// <summary>On-policy batches drawn so far in this process (for reports and tests).</summary>
    public int SampledBatches { get; private set; }

    /// <summary>Completion tokens the student sampled (and the teacher scored) so far in this process.</summary>
    public long SampledTokens { get; private set; }

    /// <inheritdoc />
    public Tensor Loss(LmBatch batch, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!model.training) return inner.Loss(batch, normalizer);
        var random = new Random(SeedMix.Of(sampling.Seed, batch.Epoch, batch.Index));
        if (!(random.NextDouble() < sampling.Lambda)) return OffPolicy(batch, normalizer);

        var prompts = batch.Examples.Select(e => (IReadOnlyList<int>)e.Ids.AsSpan(0, e.PromptLength).ToArray()).ToList();
        var budget = Math.Min(sampling.MaxNewTokens, sampling.MaxLength - prompts.Min(p => p.Count));
        var continuations = budget < 1 ? prompts.Select(_ => Array.Empty<int>()).ToArray()
            : BatchSampler.Sample(model.Student, prompts, budget, sampling.Temperature, random, sampling.StopIds);
        var sampled = batch.Examples.Select((e, i) =>
        {
            var room = Math.Max(0, sampling.MaxLength - e.PromptLength);
            return e with { Ids = [.. prompts[i], .. continuations[i].Take(room)], TopK = null, Cross = null };
        }).ToList();
        if (sampled.TrueForAll(e => e.CompletionLength == 0)) return OffPolicy(batch, normalizer);
        SampledBatches++;
        SampledTokens += sampled.Sum(e => (long)e.CompletionLength);
        var onPolicy = LmBatch.Collate(sampled, batch.Epoch, batch.Index, batch.Inputs.device);
        teacherTokens += onPolicy.Count;
        // The trainer's normalizer counts the dataset batch's tokens; keep this micro-batch's share of the step the same
        // while averaging over the tokens the student actually produced.
        var scaled = normalizer * onPolicy.Count / Math.Max(1, batch.Count);
        return scorer.Loss(onPolicy, scaled);
    }

    /// <inheritdoc />
    public long TakeTeacherTokens()
    {
        var taken = teacherTokens;
        teacherTokens = 0;
        return taken;
    }

    /// <summary>The off-policy objective on the dataset's text, whose completion tokens the teacher wrote.</summary>
    private Tensor OffPolicy(LmBatch batch, double normalizer)
    {
        teacherTokens += batch.Count;
        return inner.Loss(batch, normalizer);
    }
}
