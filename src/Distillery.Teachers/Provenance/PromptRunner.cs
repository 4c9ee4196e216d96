using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Prompts;

namespace Distillery.Teachers.Provenance;

/// <summary>Asks one model every prompt of a set, in order, and keeps the answers: the queries of a provenance test.</summary>
public static class PromptRunner
{
    /// <summary>
    /// One completion per prompt under <paramref name="sampling"/>; where it has a seed, prompt i is sampled with seed + i, so
    /// every prompt draws its own stream and a rerun asks (and the ledger answers) the same requests.
    /// </summary>
    public static async Task<IReadOnlyList<Completion>> RunAsync(ITeacher model, PromptSet prompts, SamplingParameters sampling, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        var answers = new List<Completion>(prompts.Prompts.Count);
        for (var i = 0; i < prompts.Prompts.Count; i++)
        {
            var request = new TeacherRequest(prompts.Prompts[i].Messages, sampling.Seed is { } seed ? sampling with { Seed = unchecked(seed + i) } : sampling);
            answers.Add(await model.CompleteAsync(request, cancellationToken));
            progress?.Report(i + 1);
        }
        return answers;
    }
}
