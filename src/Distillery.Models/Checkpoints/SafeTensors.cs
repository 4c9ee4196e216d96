using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Distillery.Core.Errors;
using static TorchSharp.torch;

namespace Distillery.Models.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
/// byte range, then the raw little-endian data. Reading is lazy per tensor; writing is bit-exact.
/// </summary>
public sealed class SafeTensors
{
    private readonly Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)> entries;
    private readonly long dataStart;

    private SafeTensors(string path, Dictionary<string, (string, long[], long, long)> entries, long dataStart, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        this.entries = entries;
        this.dataStart = dataStart;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names in the file.</summary>
    public IEnumerable<string> Names => entries.Keys;

    /// <summary>Reads the header of a file; the tensors are read when asked for.</summary>
    public static SafeTensors Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found");
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.Read(lengthBytes) != 8) throw InputException.InFile(path, "is too short to be a safetensors file");
        var headerLength = BitConverter.ToInt64(lengthBytes);
        if (headerLength <= 0 || headerLength > stream.Length - 8) throw InputException.InFile(path, $"header length {headerLength} does not fit the file; not a safetensors file");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        // Checked up front: invalid UTF-8 would otherwise surface only when a name is first read, as a transcoding error.
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes)) throw InputException.InFile(path, "header is not UTF-8 JSON; the file is corrupt");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) is JsonObject o ? o : throw InputException.InFile(path, "header is not a JSON object");
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw InputException.InFile(path, $"header is not valid JSON ({ErrorText.FirstLine(e)})");
        }
        var dataStart = 8 + headerLength;
        var entries = new Dictionary<string, (string, long[], long, long)>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject pairs) throw InputException.InFile(path, "header field __metadata__ is not an object of strings");
                foreach (var (k, v) in pairs) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            var entry = ReadEntry(path, name, node);
            if (dataStart + entry.End > stream.Length)
                throw InputException.InFile(path, $"tensor '{name}' has data_offsets outside the file; the file is truncated or corrupt");
            entries[name] = entry;
        }
        return new SafeTensors(path, entries, dataStart, metadata);
    }

    /// <summary>One tensor's header entry, every field checked: a corrupt header is a one-line error, not a cast exception.</summary>
    private static (string Dtype, long[] Shape, long Begin, long End) ReadEntry(string path, string name, JsonNode? node)
    {
        if (node is not JsonObject fields) throw InputException.InFile(path, $"tensor '{name}' is not an object with dtype, shape and data_offsets");
        if (fields["dtype"] is not JsonValue dtypeValue || !dtypeValue.TryGetValue<string>(out var dtype))
            throw InputException.InFile(path, $"tensor '{name}' has no dtype string");
        var shape = Integers(fields["shape"]) ?? throw InputException.InFile(path, $"tensor '{name}' has no shape (a list of integers)");
        var offsets = Integers(fields["data_offsets"]);
        if (offsets is not { Length: 2 } || offsets[0] < 0 || offsets[1] < offsets[0])
            throw InputException.InFile(path, $"tensor '{name}' has data_offsets outside the file; the file is truncated or corrupt");
        if (shape.Any(s => s < 0)) throw InputException.InFile(path, $"tensor '{name}' has a negative dimension in shape {CheckpointTensors.Shape(shape)}");
        if (ToScalarType(dtype) is { } type)
        {
            // The shape must match the bytes the offsets give; checked, since a corrupt shape can overflow.
            var size = offsets[1] - offsets[0];
            long needed;
            try { needed = checked(shape.Aggregate(1L, (a, b) => a * b) * ElementSize(type)); }
            catch (OverflowException) { needed = -1; }
            if (size != needed)
                throw InputException.InFile(path, $"tensor '{name}' holds {size} bytes; shape {CheckpointTensors.Shape(shape)} of {dtype} needs {(needed < 0 ? "more than a long can count" : needed.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }
        return (dtype, shape, offsets[0], offsets[1]);
    }

    private static long[]? Integers(JsonNode? node)
    {
        if (node is not JsonArray items) return null;
        var result = new long[items.Count];
        for (var i = 0; i < items.Count; i++)
            if (items[i] is not JsonValue v || !v.TryGetValue(out result[i])) return null;
        return result;
    }

    /// <summary>How many values the file's tensors hold together (bytes, for a dtype Distillery does not read): an upper bound on what it can fill.</summary>
    public long ValueCount => entries.Values.Sum(e => (e.End - e.Begin) / (ToScalarType(e.Dtype) is { } t ? ElementSize(t) : 1));

    /// <summary>Whether the file holds the tensor.</summary>
    public bool Contains(string name) => entries.ContainsKey(name);

    /// <summary>Reads one tensor in its stored dtype, or null when the file lacks it.</summary>
    public Tensor? Read(string name)
    {
        if (!entries.TryGetValue(name, out var e)) return null;
        var dtype = ToScalarType(e.Dtype) ?? throw InputException.InFile(Path, $"tensor '{name}' has dtype {e.Dtype}; supported: {string.Join(", ", DtypeNames.Keys)}");
        var count = e.Shape.Aggregate(1L, (a, b) => a * b);
        var size = e.End - e.Begin;
        if (size != count * ElementSize(dtype))
            throw InputException.InFile(Path, $"tensor '{name}' holds {size} bytes; shape {CheckpointTensors.Shape(e.Shape)} of {e.Dtype} needs {count * ElementSize(dtype)}");
        // Streamed into the tensor's own memory through a small buffer: a tensor never exists twice, nor the file once.
        var t = empty(e.Shape, dtype);
        if (size == 0) return t;
        try
        {
            // Chunks of whole elements, each copied into its slice of the tensor.
            var element = ElementSize(dtype);
            using var flat = t.view(-1);
            var buffer = new byte[(int)Math.Min(size, ReadChunk / element * element)];
            using var handle = File.OpenHandle(Path);
            for (long done = 0; done < size;)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - done));
                if (RandomAccess.Read(handle, chunk, dataStart + e.Begin + done) != chunk.Length)
                    throw InputException.InFile(Path, $"tensor '{name}' is cut off; the file is truncated");
                using var part = flat.narrow(0, done / element, chunk.Length / element);
                part.bytes = chunk;
                done += chunk.Length;
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Bytes read at a time.</summary>
    private const int ReadChunk = 4 << 20;

    /// <summary>Writes tensors (made contiguous, moved to the CPU, in their own dtype) in name order, with optional metadata.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        using var scope = NewDisposeScope();
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, Data: kv.Value.detach().contiguous().cpu())).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        long offset = 0;
        foreach (var (name, t) in ordered)
        {
            var dtype = DtypeNames.FirstOrDefault(kv => kv.Value == t.dtype).Key
                        ?? throw new ArgumentException($"tensor '{name}' has dtype {t.dtype}, which safetensors cannot hold here", nameof(tensors));
            var size = t.numel() * ElementSize(t.dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode?)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to 8-byte alignment
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)padded));
        stream.Write(json);
        for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, t) in ordered)
            if (t.numel() > 0) stream.Write(t.bytes);
    }

    private static readonly Dictionary<string, ScalarType> DtypeNames = new(StringComparer.Ordinal)
    {
        ["F32"] = ScalarType.Float32,
        ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16,
        ["F64"] = ScalarType.Float64,
        ["I64"] = ScalarType.Int64,
        ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16,
        ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte,
        ["BOOL"] = ScalarType.Bool,
    };

    private static ScalarType? ToScalarType(string dtype) => DtypeNames.TryGetValue(dtype, out var t) ? t : null;

    private static long ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}
