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
    private readonly FileStream _stream;
    private readonly long _dataStart;

    private GgufFile(string path, FileStream stream, uint version, Dictionary<string, object> metadata, List<GgufTensorInfo> tensors, long dataStart)
    {
        Path = path;
        _stream = stream;
        Version = version;
        Metadata = metadata;
        Tensors = tensors.ToDictionary(t => t.Name);
        TensorOrder = tensors.Select(t => t.Name).ToList();
        _dataStart = dataStart;
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
            var tensorCount = checked((long)reader.ReadUInt64());
            var kvCount = checked((long)reader.ReadUInt64());
            var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
            for (long i = 0; i < kvCount; i++)
            {
                var key = ReadString(reader);
                metadata[key] = ReadValue(reader, (GgufValueType)reader.ReadUInt32(), path, key);
            }
            var tensors = new List<GgufTensorInfo>();
            for (long i = 0; i < tensorCount; i++)
            {
                var name = ReadString(reader);
                var dims = reader.ReadUInt32();
                var ne = new long[dims];
                for (int d = 0; d < dims; d++) ne[d] = checked((long)reader.ReadUInt64());
                var type = reader.ReadUInt32();
                if (type is not ((uint)GgmlType.F32 or (uint)GgmlType.F16 or (uint)GgmlType.BF16))
                    throw InputException.InFile(path, $"tensor '{name}' has ggml type {type}; Distillery reads F32, F16 and BF16 GGUF files (quantised types are not supported yet)");
                // ggml lists dimensions innermost first; PyTorch lists them outermost first.
                tensors.Add(new GgufTensorInfo(name, ne.Reverse().ToArray(), (GgmlType)type, reader.ReadUInt64()));
            }
            var alignment = metadata.TryGetValue("general.alignment", out var a) ? Convert.ToInt64(a, System.Globalization.CultureInfo.InvariantCulture) : 32L;
            var dataStart = (stream.Position + alignment - 1) / alignment * alignment;
            foreach (var t in tensors)
                if (dataStart + (long)t.Offset + t.ByteCount > stream.Length)
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
        return (T)Convert.ChangeType(value, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A metadata value converted to the wanted type, or the fallback where the key is absent.</summary>
    public T GetOr<T>(string key, T fallback) => Metadata.ContainsKey(key) ? Get<T>(key) : fallback;

    /// <summary>A metadata array as typed elements, or an error naming the missing key.</summary>
    public T[] GetArray<T>(string key)
    {
        if (!Metadata.TryGetValue(key, out var value) || value is not object[] items)
            throw InputException.InFile(Path, $"metadata array '{key}' is missing");
        return items.Select(i => (T)Convert.ChangeType(i, typeof(T), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Reads one tensor as float32 in PyTorch shape order.</summary>
    public Tensor ReadTensor(string name)
    {
        if (!Tensors.TryGetValue(name, out var info)) throw InputException.InFile(Path, $"tensor '{name}' is missing");
        var bytes = new byte[info.ByteCount];
        lock (_stream)
        {
            _stream.Position = _dataStart + (long)info.Offset;
            _stream.ReadExactly(bytes);
        }
        return tensor(ElementsAsFloat(bytes, info.Type), info.Shape.ToArray());
    }

    /// <summary>Decodes little-endian F32, F16 or BF16 element bytes to floats.</summary>
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
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported ggml type");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static string ReadString(BinaryReader reader)
    {
        var length = checked((int)reader.ReadUInt64());
        return Encoding.UTF8.GetString(reader.ReadBytes(length));
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
        GgufValueType.String => ReadString(reader),
        GgufValueType.UInt64 => reader.ReadUInt64(),
        GgufValueType.Int64 => reader.ReadInt64(),
        GgufValueType.Float64 => reader.ReadDouble(),
        GgufValueType.Array => ReadArray(reader, path, key),
        _ => throw InputException.InFile(path, $"metadata key '{key}' has unknown value type {(uint)type}"),
    };

    private static object[] ReadArray(BinaryReader reader, string path, string key)
    {
        var elementType = (GgufValueType)reader.ReadUInt32();
        var count = checked((long)reader.ReadUInt64());
        var items = new object[count];
        for (long i = 0; i < count; i++) items[i] = ReadValue(reader, elementType, path, key);
        return items;
    }
}
