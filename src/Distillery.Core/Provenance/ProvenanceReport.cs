using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;

namespace Distillery.Core.Provenance;

/// <summary>
/// The outside view of a model's lineage, as <c>distill provenance --json</c> writes it: which test ran on which suspect, its
/// statistic and p-value, the verdict in words, the queries and tokens it cost, and what the test can and cannot show.
/// </summary>
public sealed record ProvenanceReport
{
    /// <summary>"radioactivity" (watermark key, sampled tokens), "radioactivity-logprobs" (watermark key, top logprobs) or "agreement" (parent against references).</summary>
    [JsonPropertyName("test")] public required string Test { get; init; }

    /// <summary>The suspect's spec.</summary>
    [JsonPropertyName("suspect")] public required string Suspect { get; init; }

    /// <summary>The verdict in words.</summary>
    [JsonPropertyName("verdict")] public required string Verdict { get; init; }

    /// <summary>The statistic's name ("z", "sign test positives").</summary>
    [JsonPropertyName("statistic_name")] public required string StatisticName { get; init; }

    /// <summary>The statistic's value.</summary>
    [JsonPropertyName("statistic")] public required double Statistic { get; init; }

    /// <summary>The one-sided p-value of H0.</summary>
    [JsonPropertyName("p")] public required double P { get; init; }

    /// <summary>log10 of p, which keeps its exponent where p itself underflows to 0.</summary>
    [JsonPropertyName("log10_p")] public required double Log10P { get; init; }

    /// <summary>Requests sent to (or answered from the ledger for) all models.</summary>
    [JsonPropertyName("queries")] public required long Queries { get; init; }

    /// <summary>Completion tokens read from all models.</summary>
    [JsonPropertyName("tokens")] public required long Tokens { get; init; }

    /// <summary>Named figures of the test: scored pairs, green pairs, γ; or agreements with the parent and each reference.</summary>
    [JsonPropertyName("figures")] public required IReadOnlyDictionary<string, double> Figures { get; init; }

    /// <summary>What the test can and cannot show.</summary>
    [JsonPropertyName("scope")] public required string Scope { get; init; }

    /// <summary>When it ran.</summary>
    [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }

    /// <summary>Files a model folder holds that <c>distill audit</c> shows: provenance.json and provenance-*.json.</summary>
    public const string FilePattern = "provenance*.json";

    /// <summary>Writes the report as indented JSON.</summary>
    public async Task WriteAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(this, DatasetJson.Indented) + "\n", cancellationToken);
    }

    /// <summary>Reads a report; a file that is not one is an <see cref="InputException"/> naming it.</summary>
    public static async Task<ProvenanceReport> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return JsonSerializer.Deserialize<ProvenanceReport>(await File.ReadAllTextAsync(path, cancellationToken), DatasetJson.Compact)
                ?? throw InputException.InFile(path, "is not a provenance report");
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not a provenance report ({ErrorText.OneLine(e.Message)})");
        }
    }
}
