using System.IO;

namespace Distillery.Core.Datasets;

/// <summary>The files of a dataset folder.</summary>
public static class DatasetFolder
{
    /// <summary>The rows file name.</summary>
    public const string DataFile = "data.jsonl";

    /// <summary>The manifest file name.</summary>
    public const string ManifestFile = "manifest.json";

    /// <summary>The default ledger file name.</summary>
    public const string LedgerFile = "ledger.db";

    /// <summary>The rows file of a folder.</summary>
    public static string DataPath(string directory) => Path.Combine(directory, DataFile);

    /// <summary>The manifest of a folder.</summary>
    public static string ManifestPath(string directory) => Path.Combine(directory, ManifestFile);

    /// <summary>Whether a folder holds a dataset (has <c>data.jsonl</c>).</summary>
    public static bool IsDataset(string directory) => File.Exists(DataPath(directory));
}
