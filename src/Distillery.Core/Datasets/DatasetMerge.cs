using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Prompts;

namespace Distillery.Core.Datasets;

/// <summary>What <see cref="DatasetMerge.MergeAsync"/> did: rows written, copies of a row dropped, prompts no folder answered.</summary>
/// <param name="Rows">Rows in the merged dataset.</param>
/// <param name="Duplicates">Rows dropped because another folder held the same (prompt, sample, request).</param>
/// <param name="MissingPrompts">Prompts of the prompts file with no row in any folder.</param>
/// <param name="Manifest">The merged manifest written beside the rows.</param>
public sealed record MergeSummary(int Rows, int Duplicates, int MissingPrompts, DatasetManifest Manifest);

/// <summary><c>distill merge</c>: one dataset in prompt order from the folders of processes that worked one job through a shared ledger.</summary>
/// <remarks>Rows are keyed by (prompt id, sample, request hash): a row two processes both wrote (one answered it, the other found it answered) is kept once. Rows are held in memory while they are put in order.</remarks>
public static class DatasetMerge
{
    /// <summary>Merges <paramref name="folders"/> into the new folder <paramref name="output"/>, rows in the order of <paramref name="prompts"/> (rows of prompts not in it last), with a manifest summing theirs.</summary>
    public static async Task<MergeSummary> MergeAsync(IReadOnlyList<string> folders, string output, PromptSet prompts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(folders);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(prompts);
        if (folders.Count == 0) throw InputException.InField("folders", "name at least one dataset folder");
        foreach (var folder in folders)
            if (!DatasetFolder.IsDataset(folder)) throw InputException.InFile(folder, "not a dataset folder (no data.jsonl)");
        if (DatasetFolder.IsDataset(output) && new FileInfo(DatasetFolder.DataPath(output)).Length > 0)
            throw InputException.InField("--out", $"{output} already holds rows; merge into a new folder");

        var (rows, duplicates) = await ReadDistinctAsync(folders, cancellationToken);
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < prompts.Prompts.Count; i++) order.TryAdd(prompts.Prompts[i].Id, i);
        var sorted = rows.OrderBy(r => order.GetValueOrDefault(r.Distillery!.PromptId, int.MaxValue)).ThenBy(r => r.Distillery!.PromptId, StringComparer.Ordinal)
            .ThenBy(r => r.Distillery!.Sample).ThenBy(r => r.Distillery!.RequestHash, StringComparer.Ordinal).ToList();

        var tally = new ContributionTally();
        await using (var writer = await DatasetWriter.OpenAsync(output, cancellationToken))
        {
            foreach (var row in sorted)
            {
                await writer.AppendAsync(row, cancellationToken);
                tally.Add(row);
            }
        }
        var manifest = await MergedManifestAsync(folders, prompts, tally, cancellationToken);
        await DatasetWriter.WriteManifestAsync(output, manifest, cancellationToken);
        var answered = sorted.Select(r => r.Distillery!.PromptId).ToHashSet(StringComparer.Ordinal);
        return new MergeSummary(sorted.Count, duplicates, order.Keys.Count(id => !answered.Contains(id)), manifest);
    }

    /// <summary>Every folder's rows, each (prompt, sample, request) once; a row without provenance cannot be placed and is an input error.</summary>
    private static async Task<(List<DatasetRow> Rows, int Duplicates)> ReadDistinctAsync(IReadOnlyList<string> folders, CancellationToken cancellationToken)
    {
        var seen = new HashSet<(string, int, string)>();
        var rows = new List<DatasetRow>();
        var duplicates = 0;
        foreach (var folder in folders)
        {
            var line = 0;
            await foreach (var row in DatasetReader.ReadRowsAsync(folder, cancellationToken))
            {
                line++;
                var p = row.Distillery ?? throw InputException.AtLine(DatasetFolder.DataPath(folder), line, "a row without \"distillery\" provenance cannot be put in prompt order");
                if (seen.Add((p.PromptId, p.Sample, p.RequestHash))) rows.Add(row);
                else duplicates++;
            }
        }
        return (rows, duplicates);
    }

    /// <summary>The merged provenance: the prompts file, the teachers' contributions over the merged rows, the folders' policy decisions together.</summary>
    private static async Task<DatasetManifest> MergedManifestAsync(IReadOnlyList<string> folders, PromptSet prompts, ContributionTally tally, CancellationToken cancellationToken)
    {
        var manifests = new List<DatasetManifest>();
        foreach (var folder in folders)
            if (await DatasetReader.ReadManifestAsync(folder, cancellationToken) is { } manifest) manifests.Add(manifest);
        var teachers = tally.Result();
        return new DatasetManifest
        {
            Updated = manifests.Count == 0 ? TimeProvider.System.GetUtcNow() : manifests.Max(m => m.Updated),
            Prompts = new ManifestPrompts(prompts.Path, prompts.Sha256, prompts.Prompts.Count),
            Samples = manifests.Count == 0 ? 1 : manifests.Max(m => m.Samples),
            Teachers = teachers,
            Counts = new ManifestCounts { Rows = tally.Rows, AlreadyPresent = tally.Rows },
            Tokens = new TokenUsage(teachers.Sum(t => t.Tokens.PromptTokens), teachers.Sum(t => t.Tokens.CompletionTokens)),
            CostUsd = teachers.Sum(t => t.CostUsd),
            Policy = [.. manifests.SelectMany(m => m.Policy).Distinct()],
        };
    }
}
