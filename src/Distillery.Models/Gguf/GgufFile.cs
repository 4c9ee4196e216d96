using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Distillery.Core.Errors;
using static TorchSharp.torch;

namespace Distillery.Models.Gguf;

/// <summary>A GGUF (version 2 or 3) file opened for reading: its metadata, its tensor table, and tensors on demand.</summary>
public sealed class GgufFile : IDisposable
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const int MaxDimensions = 4; // GGML_MAX_DIMS
    private readonly FileStream stream;
    private readonly long dataStart;

    private GgufFile(string path, FileStream stream, uint version, Dictionary<string, object> metadata, List<GgufTensorInfo> tensors, long dataStart)
    {
        Path = path;
        this.stream = stream;
        Version = version;
        Metadata = metadata;
        Tensors = tensors.ToDictionary(t => t.Name);
        TensorOrder = tensors.Select(t => t.Name).ToList();
        this.dataStart = dataStart;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The GGUF format version.</summary>
    public uint Version { get; }

    /// <summary>Metadata values: numbers, bools, strings, or arrays of them (as object[]).</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }

    /// <summary>The tensor table by name.</summary>
    public IReadOnlyDictionary<string, GgufTensorInfo> Tensors { get; }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> TensorOrder { get; }

    /// <summary>Opens and parses a GGUF file's header; errors name the file and what is wrong.</summary>
    public static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw InputException.InFile(path, "no such GGUF file");
        var stream = File.OpenRead(path);
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (reader.ReadUInt32() != Magic) throw InputException.InFile(path, "not a GGUF file (wrong magic number)");
            var version = reader.ReadUInt32();
            if (version is < 2 or > 3) throw InputException.InFile(path, $"GGUF version {version} is not supported (2 and 3 are)");
            // Every count below is checked against the bytes left, so a corrupt header is an error, never a huge allocation.
            var tensorCount = ReadCount(reader, path, "tensor count");
            var kvCount = ReadCount(reader, path, "metadata count");
            var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                var key = ReadString(reader, path);
                metadata[key] = ReadValue(reader, (GgufValueType)reader.ReadUInt32(), path, key);
            }
            var tensors = new List<GgufTensorInfo>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (long i = 0; i < tensorCount; i++)
                tensors.Add(ReadTensorInfo(reader, path, names));
            var alignment = Alignment(metadata, path);
            var dataStart = (stream.Position + alignment - 1) / alignment * alignment;
            foreach (var t in tensors)
                if (t.Offset > (ulong)stream.Length || dataStart + (long)t.Offset + t.ByteCount > stream.Length)
                    throw InputException.InFile(path, $"tensor '{t.Name}' runs past the end of the file (truncated?)");
            return new GgufFile(path, stream, version, metadata, tensors, dataStart);
        }
        catch (EndOfStreamException)
        {
            stream.Dispose();
            throw InputException.InFile(path, "the GGUF header is truncated");
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>A metadata value converted to the wanted type, or an error naming the missing key.</summary>
    public T Get<T>(string key)
    {
        if (!Metadata.TryGetValue(key, out var value)) throw InputException.InFile(Path, $"metadata key '{key}' is missing");
        return Convert<T>(value, key);
    }

    /// <summary>A metadata value converted to the wanted type, or the fallback where the key is absent.</summary>
    public T GetOr<T>(string key, T fallback) => Metadata.ContainsKey(key) ? Get<T>(key) : fallback;

    /// <summary>A metadata array as typed elements, or an error naming the missing key.</summary>
    public T[] GetArray<T>(string key)
    {
        if (!Metadata.TryGetValue(key, out var value) || value is not object[] items)
            throw InputException.InFile(Path, $"metadata array '{key}' is missing");
        return items.Select(i => Convert<T>(i, key)).ToArray();
    }

    /// <summary>Reads one tensor as float32 in PyTorch shape order.</summary>
    public Tensor ReadTensor(string name)
    {
        if (!Tensors.TryGetValue(name, out var info)) throw InputException.InFile(Path, $"tensor '{name}' is missing");
        var bytes = new byte[info.ByteCount];
        lock (this.stream)
        {
            this.stream.Position = this.dataStart + (long)info.Offset;
            this.stream.ReadExactly(bytes);
        }
        return tensor(ElementsAsFloat(bytes, info.Type), info.Shape.ToArray());
    }

    /// <summary>Decodes little-endian F32, F16, BF16 or Q8_0 element bytes to floats.</summary>
    internal static float[] ElementsAsFloat(ReadOnlySpan<byte> bytes, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
                return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case GgmlType.F16:
            {
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                var result = new float[halves.Length];
                for (int i = 0; i < result.Length; i++) result[i] = (float)halves[i];
                return result;
            }
            case GgmlType.BF16:
            {
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                var result = new float[raw.Length];
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                return result;
            }
            case GgmlType.Q8_0:
                return Q8Zero.Dequantize(bytes);
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type");
        }
    }

    /// <inheritdoc />
    public void Dispose() => this.stream.Dispose();

    private T Convert<T>(object value, string key)
    {
        try
        {
            return (T)System.Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw InputException.InFile(Path, $"metadata key '{key}' holds {Describe(value)}, not a {typeof(T).Name}; the file is corrupt or not a model GGUF");
        }
    }

    private static string Describe(object value) => value is object[] items ? $"an array of {items.Length}" : $"the {value.GetType().Name} '{value}'";

    private static GgufTensorInfo ReadTensorInfo(BinaryReader reader, string path, HashSet<string> names)
    {
        var name = ReadString(reader, path);
        if (!names.Add(name)) throw InputException.InFile(path, $"tensor '{name}' is listed twice; the file is corrupt");
        var dims = reader.ReadUInt32();
        if (dims > MaxDimensions) throw InputException.InFile(path, $"tensor '{name}' claims {dims} dimensions (at most {MaxDimensions}); the file is corrupt");
        var ne = new long[dims];
        var limit = reader.BaseStream.Length;
        long elements = 1;
        for (int d = 0; d < dims; d++)
        {
            var size = reader.ReadUInt64();
            // A tensor cannot hold more elements than the file holds bytes.
            if (size > (ulong)limit || (size > 0 && elements > limit / (long)size))
                throw InputException.InFile(path, $"tensor '{name}' has dimensions larger than the file; the file is corrupt");
            ne[d] = (long)size;
            elements *= (long)size;
        }
        var type = reader.ReadUInt32();
        if (type is not ((uint)GgmlType.F32 or (uint)GgmlType.F16 or (uint)GgmlType.BF16 or (uint)GgmlType.Q8_0))
            throw InputException.InFile(path, $"tensor '{name}' has ggml type {type}; Distillery reads F32, F16, BF16 and Q8_0 GGUF files (other quantised types are not supported yet)");
        if (type == (uint)GgmlType.Q8_0 && (ne.Length == 0 || ne[0] % Q8Zero.BlockSize != 0))
            throw InputException.InFile(path, $"tensor '{name}' is Q8_0 but its rows are not a whole number of {Q8Zero.BlockSize}-value blocks; the file is corrupt");
        // ggml lists dimensions innermost first; PyTorch lists them outermost first.
        return new GgufTensorInfo(name, ne.Reverse().ToArray(), (GgmlType)type, reader.ReadUInt64());
    }

    private static long Alignment(Dictionary<string, object> metadata, string path)
    {
        if (!metadata.TryGetValue("general.alignment", out var a)) return 32L;
        // The GGUF specification stores it as a uint32; a power of two in practice.
        if (a is uint value && value is > 0 and <= 1 << 20) return value;
        throw InputException.InFile(path, $"general.alignment is {Describe(a)}; it must be a uint32 between 1 and {1 << 20}");
    }

    private static long ReadCount(BinaryReader reader, string path, string what)
    {
        var count = reader.ReadUInt64();
        // Each item takes at least one byte, so a count beyond the bytes left is corrupt.
        if (count > (ulong)(reader.BaseStream.Length - reader.BaseStream.Position))
            throw InputException.InFile(path, $"{what} {count} is more than the file could hold; the file is corrupt");
        return (long)count;
    }

    private static string ReadString(BinaryReader reader, string path)
    {
        var length = ReadCount(reader, path, "string length");
        if (length > int.MaxValue) throw InputException.InFile(path, $"a string of {length} bytes is longer than any GGUF key or value could be; the file is corrupt");
        return Encoding.UTF8.GetString(reader.ReadBytes((int)length));
    }

    private static object ReadValue(BinaryReader reader, GgufValueType type, string path, string key) => type switch
    {
        GgufValueType.UInt8 => reader.ReadByte(),
        GgufValueType.Int8 => reader.ReadSByte(),
        GgufValueType.UInt16 => reader.ReadUInt16(),
        GgufValueType.Int16 => reader.ReadInt16(),
        GgufValueType.UInt32 => reader.ReadUInt32(),
        GgufValueType.Int32 => reader.ReadInt32(),
        GgufValueType.Float32 => reader.ReadSingle(),
        GgufValueType.Bool => reader.ReadByte() != 0,
        GgufValueType.String => ReadString(reader, path),
        GgufValueType.UInt64 => reader.ReadUInt64(),
        GgufValueType.Int64 => reader.ReadInt64(),
        GgufValueType.Float64 => reader.ReadDouble(),
        GgufValueType.Array => ReadArray(reader, path, key),
        _ => throw InputException.InFile(path, $"metadata key '{key}' has unknown value type {(uint)type}"),
    };

    private static object[] ReadArray(BinaryReader reader, string path, string key)
    {
        var elementType = (GgufValueType)reader.ReadUInt32();
        // Arrays of arrays are in the specification but in no model file; refusing them keeps a corrupt header from recursing without end.
        if (elementType == GgufValueType.Array) throw InputException.InFile(path, $"metadata key '{key}' is an array of arrays, which Distillery does not read");
        var count = ReadCount(reader, path, $"metadata array '{key}' length");
        var items = new object[count];
        for (long i = 0; i < count; i++) items[i] = ReadValue(reader, elementType, path, key);
        return items;
    }
}
