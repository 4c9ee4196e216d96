using System;

namespace Distillery.Cli.Tests.Fuzzing;

/// <summary>The ways the fuzzer damages a file: flipped bits, extreme values over a header field, truncation, and inserted garbage.</summary>
internal static class Corruption
{
    /// <summary>A damaged copy of <paramref name="original"/> and a short description of the damage.</summary>
    public static (byte[] Bytes, string What) Apply(byte[] original, Random random)
    {
        // Half the damage lands in the first 64 bytes, where headers and counts live.
        int Position(int length) => length == 0 ? 0 : random.Next(2) == 0 ? random.Next(Math.Min(64, length)) : random.Next(length);
        var bytes = (byte[])original.Clone();
        switch (random.Next(4))
        {
            case 0:
            {
                var flips = random.Next(1, 5);
                for (var i = 0; i < flips && bytes.Length > 0; i++) bytes[Position(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return (bytes, $"{flips} bit flip(s)");
            }
            case 1:
            {
                var at = Position(bytes.Length);
                var width = Math.Min(random.Next(2) == 0 ? 4 : 8, bytes.Length - at);
                var fill = random.Next(3) switch { 0 => (byte)0xFF, 1 => (byte)0x7F, _ => (byte)0x00 };
                bytes.AsSpan(at, width).Fill(fill);
                if (fill == 0x7F && width > 0) bytes[at] = 0xFF; // little-endian int.MaxValue-like
                return (bytes, $"{width} bytes at {at} set to 0x{fill:X2}");
            }
            case 2:
            {
                var length = random.Next(bytes.Length);
                return (bytes[..length], $"truncated to {length} of {bytes.Length} bytes");
            }
            default:
            {
                var at = Position(bytes.Length);
                var garbage = new byte[random.Next(1, 17)];
                random.NextBytes(garbage);
                return ([.. bytes[..at], .. garbage, .. bytes[at..]], $"{garbage.Length} garbage bytes inserted at {at}");
            }
        }
    }
}
