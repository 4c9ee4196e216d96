using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// A teacher behind an API scores the samples: each sequence (prompt through the chat template, then the sampled
/// continuation) is decoded to text and scored by the teacher (echoed prompt logprobs, all of a batch's sequences at
/// once), each sampled token takes the teacher's logprob of the same bytes (<see cref="SampledTokenMatch"/>), and the
/// sampled per-token reverse KL runs on them: one logprob per token allows no other divergence. A stop token writes no
/// text, so no teacher scores it; it is left out of the loss.
/// </summary>
public sealed class ApiSampleScorer : ISampleScorer
{
    private readonly DistillationStudent model;
    private readonly ITextTokenizer tokenizer;
    private readonly TeacherTextScorer scorer;
    private readonly CancellationToken cancellationToken;

    /// <summary>Creates the scorer; <paramref name="cancellationToken"/> (the run's) cancels the requests in flight.</summary>
    public ApiSampleScorer(DistillationStudent model, ITextTokenizer tokenizer, TeacherTextScorer scorer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(scorer);
        this.model = model;
        this.tokenizer = tokenizer;
        this.scorer = scorer;
        this.cancellationToken = cancellationToken;
    }

    /// <summary>Sequences the teacher scored so far in this process.</summary>
    public long ScoredSequences { get; private set; }

    /// <inheritdoc />
    public Tensor Loss(LmBatch samples, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(samples);
        // The trainer's step is synchronous; the requests of one batch go out together and the step waits for them.
        var teacher = Task.Run(() => TeacherLogprobsAsync(samples), cancellationToken).GetAwaiter().GetResult();
        ScoredSequences += samples.Examples.Count;
        var (b, t) = (samples.Targets.shape[0], samples.Targets.shape[1]);
        var device = samples.Inputs.device;
        var teacherLogprobs = tensor(teacher.Values, [b, t], ScalarType.Float32).to(device);
        var scored = tensor(teacher.Scored, [b, t]).to(device);
        var logits = model.Student.Forward(samples.Inputs).Logits; // (B, T, V)
        return DistillationLosses.SampledReverseKlFromTeacherLogprobs(logits, teacherLogprobs, samples.Targets, samples.LossMask.logical_and(scored), normalizer);
    }

    /// <summary>The teacher's logprob at each target position (B·T, row-major) and whether it has one.</summary>
    private async Task<(float[] Values, bool[] Scored)> TeacherLogprobsAsync(LmBatch samples)
    {
        var t = (int)samples.Targets.shape[1];
        var values = new float[samples.Examples.Count * t];
        var scored = new bool[values.Length];
        var rows = await Task.WhenAll(samples.Examples.Select(async e =>
        {
            var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, e.Ids);
            var score = await scorer(text, cancellationToken).ConfigureAwait(false);
            return SampledTokenMatch.TeacherLogprobs(tokenizer, e.Ids, e.PromptLength, text, spelled, score);
        })).ConfigureAwait(false);
        for (var row = 0; row < rows.Length; row++)
        {
            var promptLength = samples.Examples[row].PromptLength;
            for (var c = 0; c < rows[row].Length; c++)
            {
                // Completion token c is the target at position promptLength + c − 1 (targets are the inputs shifted by one).
                var at = row * t + promptLength + c - 1;
                if (rows[row][c] is not { } logprob || promptLength + c < 1) continue;
                values[at] = (float)logprob;
                scored[at] = true;
            }
        }
        return (values, scored);
    }
}
