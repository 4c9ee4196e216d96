using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using static TorchSharp.torch;

namespace Distillery.Models.Gguf;

/// <summary>Builds a GGUF version 3 file: typed metadata, then F32, F16 or Q8_0 tensors, aligned as llama.cpp expects.</summary>
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747;
    private const int Alignment = 32;
    private readonly List<(string Key, GgufValueType Type, GgufValueType ElementType, object Value)> metadata = [];
    private readonly List<(string Name, long[] Shape, GgmlType Type, byte[] Data)> tensors = [];

    /// <summary>Adds a string value.</summary>
    public GgufWriter Add(string key, string value) => Put(key, GgufValueType.String, value);

    /// <summary>Adds an unsigned 32-bit value.</summary>
    public GgufWriter Add(string key, uint value) => Put(key, GgufValueType.UInt32, value);

    /// <summary>Adds a signed 32-bit value.</summary>
    public GgufWriter Add(string key, int value) => Put(key, GgufValueType.Int32, value);

    /// <summary>Adds a 32-bit float value.</summary>
    public GgufWriter Add(string key, float value) => Put(key, GgufValueType.Float32, value);

    /// <summary>Adds a boolean value.</summary>
    public GgufWriter Add(string key, bool value) => Put(key, GgufValueType.Bool, value);

    /// <summary>Adds an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values) => PutArray(key, GgufValueType.String, values.ToArray());

    /// <summary>Adds an array of 32-bit floats.</summary>
    public GgufWriter Add(string key, IReadOnlyList<float> values) => PutArray(key, GgufValueType.Float32, values.ToArray());

    /// <summary>Adds an array of signed 32-bit integers.</summary>
    public GgufWriter Add(string key, IReadOnlyList<int> values) => PutArray(key, GgufValueType.Int32, values.ToArray());

    /// <summary>Adds a tensor, converted to the given element type (F32, F16, or Q8_0 where its rows are whole blocks).</summary>
    public GgufWriter AddTensor(string name, Tensor value, GgmlType type)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' was added twice", nameof(name));
        using var contiguous = value.detach().to(CPU).to_type(ScalarType.Float32).contiguous();
        var floats = contiguous.data<float>().ToArray();
        byte[] data = type switch
        {
            GgmlType.F32 => MemoryMarshal.AsBytes(floats.AsSpan()).ToArray(),
            GgmlType.F16 => MemoryMarshal.AsBytes(floats.Select(f => (Half)f).ToArray().AsSpan()).ToArray(),
            GgmlType.Q8_0 when value.shape[^1] % Q8Zero.BlockSize == 0 => Q8Zero.Quantize(floats),
            GgmlType.Q8_0 => throw new ArgumentException($"tensor '{name}' has rows of {value.shape[^1]} values; Q8_0 needs a multiple of {Q8Zero.BlockSize}", nameof(value)),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Distillery writes F32, F16 and Q8_0 GGUF tensors"),
        };
        tensors.Add((name, value.shape, type, data));
        return this;
    }

    /// <summary>Writes the file atomically (a temporary file, then a rename).</summary>
    public void Write(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        using (var stream = File.Create(temporary))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(Magic);
            writer.Write(3u);
            writer.Write((ulong)tensors.Count);
            writer.Write((ulong)metadata.Count);
            foreach (var (key, type, elementType, value) in metadata)
            {
                WriteString(writer, key);
                writer.Write((uint)type);
                if (type == GgufValueType.Array)
                {
                    var items = (Array)value;
                    writer.Write((uint)elementType);
                    writer.Write((ulong)items.Length);
                    foreach (var item in items) WriteScalar(writer, elementType, item!);
                }
                else
                {
                    WriteScalar(writer, type, value);
                }
            }
            ulong offset = 0;
            foreach (var (name, shape, type, data) in tensors)
            {
                WriteString(writer, name);
                writer.Write((uint)shape.Length);
                // ggml lists dimensions innermost first.
                foreach (var dim in shape.Reverse()) writer.Write((ulong)dim);
                writer.Write((uint)type);
                writer.Write(offset);
                offset = Align(offset + (ulong)data.Length);
            }
            Pad(writer);
            foreach (var (_, _, _, data) in tensors)
            {
                writer.Write(data);
                Pad(writer);
            }
        }
        File.Move(temporary, full, overwrite: true);
    }

    private GgufWriter Put(string key, GgufValueType type, object value)
    {
        metadata.RemoveAll(m => m.Key == key);
        metadata.Add((key, type, type, value));
        return this;
    }

    private GgufWriter PutArray(string key, GgufValueType elementType, Array values)
    {
        metadata.RemoveAll(m => m.Key == key);
        metadata.Add((key, GgufValueType.Array, elementType, values));
        return this;
    }

    private static ulong Align(ulong offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter writer)
    {
        var position = (ulong)writer.BaseStream.Position;
        for (var i = position; i < Align(position); i++) writer.Write((byte)0);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteScalar(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((bool)value ? (byte)1 : (byte)0); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported metadata type");
        }
    }
}
