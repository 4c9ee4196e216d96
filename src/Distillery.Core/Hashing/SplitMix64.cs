namespace Distillery.Core.Hashing;

/// <summary>SplitMix64's finaliser (Steele, Lea and Flood 2014): a bijection on 64 bits in which every output bit depends on every input bit.</summary>
public static class SplitMix64
{
    /// <summary>The finaliser applied to x.</summary>
    public static ulong Finalize(ulong x)
    {
        unchecked
        {
            x ^= x >> 30;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 27;
            x *= 0x94D049BB133111EBUL;
            x ^= x >> 31;
            return x;
        }
    }
}
