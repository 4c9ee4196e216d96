using System.Text;

namespace Distillery.Core.Hashing;

/// <summary>FNV-1a over UTF-8: a hash that is the same in every process and on every platform (string.GetHashCode is not).</summary>
public static class StableHash
{
    /// <summary>The 64-bit FNV-1a hash of the text's UTF-8 bytes.</summary>
    public static ulong Of(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    /// <summary>FNV-1a followed by SplitMix64's finaliser, so that every bit (the high ones too) depends on every input byte.</summary>
    public static ulong Mixed(string text)
    {
        return SplitMix64.Finalize(Of(text));
    }
}
