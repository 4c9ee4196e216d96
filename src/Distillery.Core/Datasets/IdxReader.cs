using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using Distillery.Core.Errors;

namespace Distillery.Core.Datasets;

/// <summary>One IDX file (the MNIST format) of unsigned bytes: its dimensions and its data, row-major.</summary>
/// <param name="Dimensions">Sizes, outermost first: (count) for labels, (count, rows, columns) for images.</param>
/// <param name="Data">The values, row-major.</param>
public sealed record IdxArray(int[] Dimensions, byte[] Data);

/// <summary>
/// Reads IDX files, gzipped or not (detected from the content). Format: two zero bytes, a type byte (0x08 = unsigned
/// byte, the only type MNIST uses and the only one read here), the number of dimensions, each dimension as a big-endian
/// int32, then the data. Every problem is one line naming the file.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads a whole IDX file of unsigned bytes; <paramref name="expectedDimensions"/> (1 for labels, 3 for images) is checked when given.</summary>
    public static IdxArray Read(string path, int? expectedDimensions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found");
        byte[] bytes;
        try
        {
            bytes = IsGzip(path) ? Gunzip(path) : File.ReadAllBytes(path);
        }
        catch (InvalidDataException e)
        {
            throw InputException.InFile(path, $"truncated or corrupt gzip stream ({e.Message}); download the file again");
        }
        return Parse(path, bytes, expectedDimensions);
    }

    /// <summary>Parses IDX bytes already in memory; <paramref name="name"/> names the source in errors.</summary>
    public static IdxArray Parse(string name, ReadOnlySpan<byte> bytes, int? expectedDimensions = null)
    {
        if (bytes.Length < 4) throw InputException.InFile(name, $"truncated: {bytes.Length} bytes, too short for an IDX header");
        var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if (bytes[0] != 0 || bytes[1] != 0 || bytes[3] is 0 or > 4)
            throw InputException.InFile(name, $"not an IDX file: magic number 0x{magic:X8}, expected 0x000008NN (NN = 01..04 dimensions)");
        if (bytes[2] != UnsignedByte)
            throw InputException.InFile(name, $"IDX data type 0x{bytes[2]:X2} is not supported; only unsigned bytes (0x08, as in MNIST) are read");
        int rank = bytes[3];
        if (expectedDimensions is { } expected && rank != expected)
            throw InputException.InFile(name, $"has {rank} dimension(s) but {expected} were expected ({(expected == 1 ? "labels" : "images")}); check that image and label files are not swapped");
        var headerLength = 4 + 4 * rank;
        if (bytes.Length < headerLength) throw InputException.InFile(name, $"truncated: the header needs {headerLength} bytes, the file has {bytes.Length}");
        var dims = new int[rank];
        long count = 1;
        var available = bytes.Length - headerLength;
        for (var i = 0; i < rank; i++)
        {
            var d = BinaryPrimitives.ReadInt32BigEndian(bytes[(4 + 4 * i)..]);
            if (d < 0) throw InputException.InFile(name, $"dimension {i} is negative ({d}); the file is corrupt");
            dims[i] = d;
            // Four int32 dimensions can overflow a long; past the file's size the count is wrong either way.
            count = count > available && d > 0 ? count : count * d;
        }
        if (available < count)
            throw InputException.InFile(name, $"truncated: the header promises {count:N0} values ({string.Join('×', dims)}), the file holds {available:N0}");
        if (available > count)
            throw InputException.InFile(name, $"has {available - count:N0} bytes after the {count:N0} values its header declares; the file is corrupt");
        return new IdxArray(dims, bytes[headerLength..].ToArray());
    }

    private static bool IsGzip(string path)
    {
        using var stream = File.OpenRead(path);
        return stream.ReadByte() == 0x1f && stream.ReadByte() == 0x8b;
    }

    private static byte[] Gunzip(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray();
    }
}
