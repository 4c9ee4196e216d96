using System;

namespace Distillery.Cli.Tests;

/// <summary>Environment variables that hold test API keys.</summary>
public static class ApiKeyVariable
{
    /// <summary>Sets a variable, unique to the caller so parallel tests do not meet, to the key, and returns its name.</summary>
    public static string Create(string key)
    {
        var name = "DISTILL_TEST_KEY_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable(name, key);
        return name;
    }
}
