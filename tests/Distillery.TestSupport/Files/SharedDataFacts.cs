using Xunit;

namespace Distillery.TestSupport.Files;

/// <summary>A fact that needs a path inside ../shared/data; without it the test is skipped, and the runner shows why.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute(string relativePath)
    {
        if (SharedTestData.TryGet(relativePath) is null) Skip = SharedDataSkip.Reason(relativePath);
    }
}

/// <summary>A theory that needs a path inside ../shared/data; without it the test is skipped, and the runner shows why.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute(string relativePath)
    {
        if (SharedTestData.TryGet(relativePath) is null) Skip = SharedDataSkip.Reason(relativePath);
    }
}

internal static class SharedDataSkip
{
    public static string Reason(string relativePath) =>
        $"needs shared data '{relativePath}' (a shared/data folder beside the checkout, or ${SharedTestData.EnvironmentVariable}); not found";
}
