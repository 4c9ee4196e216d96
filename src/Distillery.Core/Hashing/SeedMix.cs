namespace Distillery.Core.Hashing;

/// <summary>Derives a 32-bit seed for System.Random from a run seed and positions, the same in every process.</summary>
public static class SeedMix
{
    /// <summary>A seed from (seed, a, b), mixed with <see cref="SplitMix64"/>'s finaliser.</summary>
    public static int Of(long seed, long a, long b)
    {
        unchecked
        {
            var x = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)a * 0xBF58476D1CE4E5B9UL ^ (ulong)b * 0x94D049BB133111EBUL;
            return (int)(SplitMix64.Finalize(x) & 0x7FFFFFFF);
        }
    }
}
