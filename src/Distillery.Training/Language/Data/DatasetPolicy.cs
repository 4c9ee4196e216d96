using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Policy;

namespace Distillery.Training.Language.Data;

/// <summary>Refuses to train on rows from a teacher that the terms policy denies: as the manifest recorded it, or as a policy file says now.</summary>
public static class DatasetPolicy
{
    /// <summary>Throws a one-line <see cref="InputException"/> naming the first denied teacher that has rows in the dataset.</summary>
    public static void Enforce(string datasetDirectory, DatasetManifest? manifest, IReadOnlyList<DatasetRow> rows, TermsPolicy? policy)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var present = rows.Where(r => r.Distillery is not null)
            .Select(r => (r.Distillery!.Teacher.Provider, Requested: r.Distillery.Teacher.RequestedModel, Reported: r.Distillery.Teacher.Model))
            .Distinct().ToList();
        if (manifest is not null)
        {
            // The generator records decisions as "provider:model" (the requested or the reported model).
            foreach (var record in manifest.Policy.Where(p => string.Equals(p.Decision, "deny", StringComparison.OrdinalIgnoreCase)))
            {
                var hit = present.FirstOrDefault(t => record.Teacher == $"{t.Provider}:{t.Requested}" || record.Teacher == $"{t.Provider}:{t.Reported}");
                if (hit != default)
                    throw InputException.InFile(DatasetFolder.ManifestPath(datasetDirectory),
                        $"the terms policy denied teacher {record.Teacher} ({record.Rule}{(record.Note is null ? "" : ": " + record.Note)}), and rows from it are in data.jsonl; remove them before training");
            }
        }
        if (policy is null) return;
        foreach (var (provider, requested, reported) in present)
        {
            foreach (var model in new[] { requested, reported }.Distinct())
            {
                var decision = policy.Evaluate(provider, model);
                if (decision.Verdict == PolicyVerdict.Deny)
                    throw InputException.InField("--policy", $"{decision.Rule} denies training on {provider}:{model}, which wrote rows of {datasetDirectory}{(decision.Explanation.Length == 0 ? "" : " (" + decision.Explanation + ")")}; remove its rows or change the policy");
            }
        }
    }
}
