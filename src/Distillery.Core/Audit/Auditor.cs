using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;

namespace Distillery.Core.Audit;

/// <summary>Builds an <see cref="AuditReport"/> for a dataset folder or for a model folder whose <c>distillery.json</c> lists its datasets.</summary>
public static class Auditor
{
    /// <summary>The lineage file of a model folder.</summary>
    public const string LineageFile = "distillery.json";

    /// <summary>Audits a dataset folder (<c>data.jsonl</c>) or a model folder (<c>distillery.json</c> with <c>"datasets"</c>: paths or objects with <c>"path"</c>).</summary>
    public static async Task<AuditReport> AuditAsync(string target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!Directory.Exists(target)) throw InputException.InFile(target, "no such folder; give a dataset folder or a model folder");
        if (DatasetFolder.IsDataset(target)) return await BuildAsync(target, "dataset", [target], cancellationToken);
        var lineage = Path.Combine(target, LineageFile);
        if (!File.Exists(lineage)) throw InputException.InFile(target, $"neither a dataset folder ({DatasetFolder.DataFile}) nor a model folder ({LineageFile})");
        return await BuildAsync(target, "model", await ReadLineageDatasetsAsync(target, lineage, cancellationToken), cancellationToken);
    }

    /// <summary>The dataset folders a model's <c>distillery.json</c> lists, resolved against the model folder.</summary>
    public static async Task<IReadOnlyList<string>> ReadLineageDatasetsAsync(string modelDirectory, string lineagePath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(lineagePath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(await File.ReadAllTextAsync(lineagePath, cancellationToken));
        }
        catch (JsonException e)
        {
            throw InputException.InFile(lineagePath, $"not valid JSON ({ErrorText.FirstLine(e)})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("datasets", out var datasets) || datasets.ValueKind != JsonValueKind.Array)
                throw InputException.InField($"{lineagePath} datasets", "missing; the model's lineage lists no datasets to audit");
            var result = new List<string>();
            var index = 0;
            foreach (var item in datasets.EnumerateArray())
            {
                var path = item.ValueKind switch
                {
                    JsonValueKind.String => item.GetString(),
                    JsonValueKind.Object when item.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String => p.GetString(),
                    _ => null,
                } ?? throw InputException.InField($"{lineagePath} datasets[{index}]", "must be a path or an object with \"path\"");
                var resolved = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(modelDirectory, path));
                if (!DatasetFolder.IsDataset(resolved))
                    throw InputException.InField($"{lineagePath} datasets[{index}]", $"{resolved} is not a dataset folder (no {DatasetFolder.DataFile}); the audit needs the training data");
                result.Add(resolved);
                index++;
            }
            return result;
        }
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
