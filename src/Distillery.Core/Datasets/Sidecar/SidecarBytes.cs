using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>The primitives of the logprob sidecar's little-endian layout: file headers, LEB128 varints and float16 logprobs.</summary>
internal static class SidecarBytes
{
    /// <summary>The layout version both sidecar files carry in their header.</summary>
    public const byte Version = 1;

    /// <summary>Bytes of a file header: four magic bytes, the version, three zero bytes.</summary>
    public const int HeaderLength = 8;

    /// <summary>The header of a file with the given four-byte magic.</summary>
    public static byte[] Header(ReadOnlySpan<byte> magic) => [.. magic, Version, 0, 0, 0];

    /// <summary>Whether <paramref name="bytes"/> start with the header of <paramref name="magic"/> at this version.</summary>
    public static bool HasHeader(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> magic) =>
        bytes.Length >= HeaderLength && bytes[..4].SequenceEqual(magic) && bytes[4] == Version && bytes[5..8].IndexOfAnyExcept((byte)0) < 0;

    /// <summary>Appends an unsigned LEB128 varint.</summary>
    public static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }

    /// <summary>Appends a logprob as an IEEE float16.</summary>
    public static void WriteHalf(List<byte> output, double value)
    {
        Span<byte> two = stackalloc byte[2];
        BinaryPrimitives.WriteHalfLittleEndian(two, (Half)value);
        output.Add(two[0]);
        output.Add(two[1]);
    }

    /// <summary>Reads an unsigned LEB128 varint of at most 63 bits at <paramref name="at"/>; false when the bytes end or it is too long.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 63; shift += 7)
        {
            if (at >= bytes.Length) return false;
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }

    /// <summary>Reads a float16 logprob at <paramref name="at"/>; false when the bytes end.</summary>
    public static bool TryReadHalf(ReadOnlySpan<byte> bytes, ref int at, out double value)
    {
        value = 0;
        if (at + 2 > bytes.Length) return false;
        value = (double)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(at, 2));
        at += 2;
        return true;
    }
}
