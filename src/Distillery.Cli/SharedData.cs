using System;
using System.IO;

namespace Distillery.Cli;

/// <summary>Finds the optional <c>shared/data</c> folder of demo inputs that sits beside a checkout: the pipelines' <c>{shared}</c> variable and the demos' defaults.</summary>
public static class SharedData
{
    /// <summary>The environment variable that names the data folder explicitly.</summary>
    public const string EnvironmentVariable = "DISTILLERY_SHARED_DATA";

    /// <summary>The data folder, or null where none is found (a user's machine has none, and that is fine).</summary>
    public static string? TryFind()
    {
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            return Directory.Exists(fromEnv) ? Path.GetFullPath(fromEnv) : null;
        return SearchUp(Directory.GetCurrentDirectory()) ?? SearchUp(AppContext.BaseDirectory);
    }

    /// <summary>A path inside the data folder, or null where the folder or the file is missing.</summary>
    public static string? TryGet(string relativePath)
    {
        var root = TryFind();
        if (root is null) return null;
        var path = Path.Combine(root, relativePath);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
    }

    private static string? SearchUp(string start)
    {
        // The data sits in a folder named shared/ beside (or above) the checkout.
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
