using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Core.Provenance;

/// <summary>Where a model folder keeps its <see cref="Lineage"/>, and reading and writing it.</summary>
public static class LineageFile
{
    /// <summary>The lineage file's name in a model folder.</summary>
    public const string Name = "distillery.json";

    // A null where the record has none (a teacher's "provider": null) is a malformed file: a JsonException, not a crash later.
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, RespectNullableAnnotations = true };

    /// <summary>The lineage file's path in a model folder.</summary>
    public static string PathIn(string modelDirectory) => Path.Combine(modelDirectory, Name);

    /// <summary>Whether a model folder has a lineage file.</summary>
    public static bool ExistsIn(string modelDirectory) => File.Exists(PathIn(modelDirectory));

    /// <summary>Writes the lineage into a model folder.</summary>
    public static Task WriteAsync(string modelDirectory, Lineage lineage, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lineage);
        return File.WriteAllTextAsync(PathIn(modelDirectory), JsonSerializer.Serialize(lineage, Options) + "\n", cancellationToken);
    }

    /// <summary>The folder's lineage, or null where it has none; a malformed file is an <see cref="InputException"/>.</summary>
    public static async Task<Lineage?> ReadAsync(string modelDirectory, CancellationToken cancellationToken = default)
    {
        var path = PathIn(modelDirectory);
        if (!File.Exists(path)) return null;
        try
        {
            var lineage = JsonSerializer.Deserialize<Lineage>(await File.ReadAllTextAsync(path, cancellationToken), Options)
                          ?? throw InputException.InFile(path, "is null, not a lineage object");
            // List elements are not covered by nullable annotations, nor is a missing constructor parameter: a null dataset,
            // teacher or model list is checked here.
            if (lineage.Datasets.Any(d => d is null) || lineage.Teachers.Any(t => t is null || t.ModelsReported is null || t.ModelsReported.Any(m => m is null)))
                throw InputException.InFile(path, "has a null where a dataset, teacher or model name belongs");
            return lineage;
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not a lineage object ({ErrorText.FirstLine(e)})");
        }
    }
}
