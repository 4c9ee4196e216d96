using System.IO;

namespace Distillery.Cli.Tests;

/// <summary>Reads a labeled dataset's <c>data.jsonl</c> as lines, even while a child process is still writing it.</summary>
public static class DatasetLines
{
    /// <summary>The number of complete lines in a file another process may hold open.</summary>
    public static int Count(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var count = 0;
        int b;
        while ((b = stream.ReadByte()) >= 0) if (b == '\n') count++;
        return count;
    }
}
