using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;

namespace Distillery.Core.Audit;

/// <summary>Builds an <see cref="AuditReport"/> for a dataset folder or for a model folder whose <c>distillery.json</c> lists its datasets.</summary>
public static class Auditor
{
    /// <summary>Audits a dataset folder (<c>data.jsonl</c>) or a model folder (<c>distillery.json</c> with <c>"datasets"</c>: paths or objects with <c>"path"</c>).</summary>
    public static async Task<AuditReport> AuditAsync(string target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!Directory.Exists(target)) throw InputException.InFile(target, "no such folder; give a dataset folder or a model folder");
        if (DatasetFolder.IsDataset(target)) return await BuildAsync(target, "dataset", [target], cancellationToken);
        var lineage = await LineageFile.ReadAsync(target, cancellationToken)
                      ?? throw InputException.InFile(target, $"neither a dataset folder ({DatasetFolder.DataFile}) nor a model folder ({LineageFile.Name})");
        var report = await BuildAsync(target, "model", LineageDatasets(target, lineage), cancellationToken);
        return lineage.OnPolicyScoring is { } scoring ? report with { OnPolicyScoring = await ScoringAsync(target, scoring, cancellationToken) } : report;
    }

    /// <summary>The scoring requests the lineage's ledger holds answered for its endpoint and model.</summary>
    private static async Task<AuditScoringLine> ScoringAsync(string modelDirectory, LineageOnPolicyScoring scoring, CancellationToken cancellationToken)
    {
        if (!LedgerLocation.IsDatabaseUrl(scoring.Ledger) && !File.Exists(scoring.Ledger))
            throw InputException.InField($"{LineageFile.PathIn(modelDirectory)} on_policy_scoring.ledger", $"{scoring.Ledger} does not exist; the audit of on-policy scoring needs the ledger its requests went through");
        await using var ledger = await TeacherLedger.OpenAsync(scoring.Ledger, cancellationToken);
        var model = scoring.Teacher.Split(':', 2)[^1];
        var answered = (await ledger.ReadAllAsync(cancellationToken))
            .Where(e => e.Status == LedgerStatus.Answered && e.Endpoint == scoring.Endpoint && e.Model == model).ToList();
        return new AuditScoringLine
        {
            Teacher = scoring.Teacher,
            Endpoint = scoring.Endpoint,
            Ledger = scoring.Ledger,
            Requests = answered.Count,
            PromptTokens = answered.Sum(e => (long)e.Usage.PromptTokens),
            CostUsd = answered.Sum(e => e.CostUsd),
            First = answered.Count == 0 ? null : answered.Min(e => e.Completed ?? e.Created),
            Last = answered.Count == 0 ? null : answered.Max(e => e.Completed ?? e.Created),
        };
    }

    /// <summary>The dataset folders a model's lineage lists, resolved against the model folder; each must exist.</summary>
    public static IReadOnlyList<string> LineageDatasets(string modelDirectory, Lineage lineage)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(lineage);
        var file = LineageFile.PathIn(modelDirectory);
        if (lineage.Datasets.Count == 0)
            throw InputException.InField($"{file} datasets", "missing; the model's lineage lists no datasets to audit");
        var result = new List<string>();
        for (var index = 0; index < lineage.Datasets.Count; index++)
        {
            var path = lineage.Datasets[index].Path;
            var resolved = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(modelDirectory, path));
            if (!DatasetFolder.IsDataset(resolved))
                throw InputException.InField($"{file} datasets[{index}]", $"{resolved} is not a dataset folder (no {DatasetFolder.DataFile}); the audit needs the training data");
            result.Add(resolved);
        }
        return result;
    }

    private static async Task<AuditReport> BuildAsync(string target, string kind, IReadOnlyList<string> datasets, CancellationToken cancellationToken)
    {
        var rows = new List<DatasetRow>();
        foreach (var dataset in datasets)
            rows.AddRange(await DatasetReader.ReadAllRowsAsync(dataset, cancellationToken));
        var contributions = TeacherContributions.FromRows(rows);
        long total = contributions.Sum(c => (long)c.Tokens.CompletionTokens);
        return new AuditReport
        {
            Target = target,
            Kind = kind,
            Datasets = datasets,
            TrainingTokens = total,
            Teachers = contributions.Select(c => new AuditLine
            {
                Teacher = c.Provider == "none" ? "(no teacher)" : c.ToString(),
                ModelsReported = c.ModelsReported,
                Endpoint = c.Endpoint,
                Rows = c.Rows,
                PromptTokens = c.Tokens.PromptTokens,
                CompletionTokens = c.Tokens.CompletionTokens,
                Share = total == 0 ? 0 : (double)c.Tokens.CompletionTokens / total,
                CostUsd = c.CostUsd,
                First = c.First,
                Last = c.Last,
            }).ToList(),
        };
    }
}
