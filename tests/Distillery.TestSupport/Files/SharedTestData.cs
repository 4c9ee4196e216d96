using System;
using System.IO;

namespace Distillery.TestSupport.Files;

/// <summary>Finds the shared data folder the tests read (models, reference outputs, datasets): the folder named by
/// <c>DISTILLERY_SHARED_DATA</c>, else the first <c>shared/data</c> found from the working folder or the test binaries upward
/// (that is, <c>../shared/data</c> beside the checkout).</summary>
public static class SharedTestData
{
    /// <summary>The environment variable that names the data folder explicitly.</summary>
    public const string EnvironmentVariable = "DISTILLERY_SHARED_DATA";

    /// <summary>The data folder, or null where none is found.</summary>
    public static string? TryFind()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            return Directory.Exists(fromEnv) ? System.IO.Path.GetFullPath(fromEnv) : null;
        return SearchUp(Directory.GetCurrentDirectory()) ?? SearchUp(AppContext.BaseDirectory);
    }

    /// <summary>A file or folder inside the data folder, or null where the folder or the entry is missing.</summary>
    public static string? TryGet(string relativePath)
    {
        var root = TryFind();
        if (root is null) return null;
        var path = System.IO.Path.Combine(root, relativePath);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    /// <summary>A file or folder inside the data folder; a <see cref="FileNotFoundException"/> that says where it was looked for when missing.</summary>
    public static string Get(string relativePath) =>
        TryGet(relativePath) ?? throw new FileNotFoundException(
            $"shared data '{relativePath}' not found; these tests need ../shared/data beside the checkout, or {EnvironmentVariable} naming the data folder");

    private static string? SearchUp(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
