using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>
/// The interned tokens of a dataset, in the order of <c>tokens.bin</c>: each entry once, referenced by its index from
/// every position of <c>logprobs.bin</c>. Entry layout: varint flags (bit 0: an id follows; bit 1: a text follows because
/// it is not the UTF-8 decoding of the bytes), varint byte count, the bytes, [varint id], [varint UTF-8 length, text].
/// </summary>
public sealed class TokenTable
{
    /// <summary>The magic of <c>tokens.bin</c>'s header.</summary>
    public static ReadOnlySpan<byte> Magic => "DTOK"u8;

    private readonly List<TokenEntry> entries = [];
    private readonly Dictionary<string, int> index = new(StringComparer.Ordinal);

    /// <summary>The entries, by index.</summary>
    public IReadOnlyList<TokenEntry> Entries => entries;

    /// <summary>The index of a token, adding it (and its encoded bytes to <paramref name="added"/>) when it is new.</summary>
    public int Intern(string token, IReadOnlyList<int> bytes, int? id, List<byte> added)
    {
        var encoded = Encode(token, bytes, id);
        var key = Encoding.Latin1.GetString(encoded.ToArray());
        if (index.TryGetValue(key, out var found)) return found;
        index[key] = entries.Count;
        entries.Add(new TokenEntry(token, bytes.ToArray(), id));
        added.AddRange(encoded);
        return entries.Count - 1;
    }

    /// <summary>
    /// Reads the entries of a <c>tokens.bin</c> image after its header; returns how many bytes hold whole entries (an
    /// entry cut short by a crash ends the table), or -1 when the header is not this format's.
    /// </summary>
    public static (TokenTable Table, long WholeLength) Read(ReadOnlySpan<byte> file)
    {
        var table = new TokenTable();
        if (!SidecarBytes.HasHeader(file, Magic)) return (table, -1);
        var at = SidecarBytes.HeaderLength;
        var whole = at;
        while (at < file.Length && TryReadEntry(file, ref at, out var entry, out var encoded))
        {
            table.index.TryAdd(Encoding.Latin1.GetString(encoded), table.entries.Count);
            table.entries.Add(entry);
            whole = at;
        }
        return (table, whole);
    }

    /// <summary>A table of the entries in <paramref name="entries"/> (no header; the ledger keeps one per response), or null unless they are whole, valid entries filling it exactly.</summary>
    internal static TokenTable? FromEntries(ReadOnlySpan<byte> entries)
    {
        var table = new TokenTable();
        var at = 0;
        while (at < entries.Length)
        {
            if (!TryReadEntry(entries, ref at, out var entry, out var encoded)) return null;
            table.index.TryAdd(Encoding.Latin1.GetString(encoded), table.entries.Count);
            table.entries.Add(entry);
        }
        return table;
    }

    private static List<byte> Encode(string token, IReadOnlyList<int> bytes, int? id)
    {
        var raw = new byte[bytes.Count];
        for (var i = 0; i < raw.Length; i++) raw[i] = (byte)bytes[i];
        var textDiffers = Encoding.UTF8.GetString(raw) != token;
        var output = new List<byte>(raw.Length + 4);
        SidecarBytes.WriteVarint(output, (id is null ? 0u : 1u) | (textDiffers ? 2u : 0u));
        SidecarBytes.WriteVarint(output, (ulong)raw.Length);
        output.AddRange(raw);
        if (id is { } value) SidecarBytes.WriteVarint(output, (ulong)(uint)value);
        if (textDiffers)
        {
            var text = Encoding.UTF8.GetBytes(token);
            SidecarBytes.WriteVarint(output, (ulong)text.Length);
            output.AddRange(text);
        }
        return output;
    }

    private static bool TryReadEntry(ReadOnlySpan<byte> file, ref int at, out TokenEntry entry, out byte[] encoded)
    {
        entry = null!;
        encoded = [];
        var start = at;
        if (!SidecarBytes.TryReadVarint(file, ref at, out var flags) || flags > 3) return false;
        if (!SidecarBytes.TryReadVarint(file, ref at, out var count) || count > (ulong)(file.Length - at)) return false;
        var raw = file.Slice(at, (int)count);
        at += (int)count;
        int? id = null;
        if ((flags & 1) != 0)
        {
            if (!SidecarBytes.TryReadVarint(file, ref at, out var value) || value > int.MaxValue) return false;
            id = (int)value;
        }
        var token = Encoding.UTF8.GetString(raw);
        if ((flags & 2) != 0)
        {
            if (!SidecarBytes.TryReadVarint(file, ref at, out var length) || length > (ulong)(file.Length - at)) return false;
            token = Encoding.UTF8.GetString(file.Slice(at, (int)length));
            at += (int)length;
        }
        var bytes = new int[raw.Length];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = raw[i];
        entry = new TokenEntry(token, bytes, id);
        encoded = file[start..at].ToArray();
        return true;
    }
}
