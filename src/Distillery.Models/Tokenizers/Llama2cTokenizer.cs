using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// llama2.c's <c>tokenizer.bin</c>: a SentencePiece-style BPE vocabulary with scores and byte fallback (ids 3–258 are bytes).
/// <see cref="Encode"/> reproduces run.c's <c>encode</c> exactly, dummy-prefix space included.
/// </summary>
public sealed class Llama2cTokenizer : ITextTokenizer
{
    /// <summary>The file name a model folder stores this tokenizer under.</summary>
    public const string FileName = "tokenizer.bin";

    private const int Unk = 0, Bos = 1, Eos = 2, ByteOffset = 3;
    private readonly byte[][] pieces;
    private readonly byte[][] raw;
    private readonly float[] scores;
    private readonly Dictionary<string, int> lookup;
    private readonly byte[] fileBytes;
    private readonly string source;

    private Llama2cTokenizer(byte[] fileBytes, string source)
    {
        this.fileBytes = fileBytes;
        this.source = source;
        var p = new List<byte[]>();
        var s = new List<float>();
        if (fileBytes.Length < 4) throw InputException.InFile(source, "is too short to be a llama2.c tokenizer.bin");
        var offset = 4; // int32 max_token_length, which the vocabulary itself implies
        while (offset < fileBytes.Length)
        {
            if (offset + 8 > fileBytes.Length) throw InputException.InFile(source, $"token {p.Count} is cut off at byte {offset}; the file is truncated");
            var score = BitConverter.ToSingle(fileBytes, offset);
            var length = BitConverter.ToInt32(fileBytes, offset + 4);
            offset += 8;
            if (length < 0 || offset + length > fileBytes.Length)
                throw InputException.InFile(source, $"token {p.Count} claims {length} bytes at byte {offset}; not a llama2.c tokenizer.bin");
            p.Add(fileBytes.AsSpan(offset, length).ToArray());
            s.Add(score);
            offset += length;
        }
        if (p.Count < ByteOffset + 256) throw InputException.InFile(source, $"has {p.Count} tokens; a llama2.c tokenizer needs at least 259 (3 control + 256 bytes)");
        pieces = p.ToArray();
        scores = s.ToArray();
        raw = new byte[pieces.Length][];
        lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (var i = 0; i < pieces.Length; i++)
        {
            raw[i] = ByteOf(pieces[i]) is { } b ? [b] : pieces[i];
            lookup.TryAdd(Key(pieces[i]), i); // first wins where a piece repeats
        }
    }

    /// <summary>Reads a tokenizer.bin file.</summary>
    public static async Task<Llama2cTokenizer> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "tokenizer not found; give --tokenizer PATH to a llama2.c tokenizer.bin");
        return new Llama2cTokenizer(await File.ReadAllBytesAsync(path, cancellationToken), path);
    }

    /// <summary>Parses tokenizer.bin bytes.</summary>
    public static Llama2cTokenizer FromBytes(byte[] bytes, string source = "tokenizer.bin")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new Llama2cTokenizer(bytes, source);
    }

    /// <inheritdoc />
    public string Name => $"llama2c:{Path.GetFileName(source)}";

    /// <inheritdoc />
    public int VocabSize => pieces.Length;

    /// <inheritdoc />
    public int? BosId => Bos;

    /// <inheritdoc />
    // llama2.c's run.c ends a sequence when BOS appears (it delimits stories); EOS ends it too.
    public IReadOnlyCollection<int> StopIds { get; } = [Bos, Eos];

    /// <summary>The piece as stored in the file (a byte token is the text <c>&lt;0xNN&gt;</c>).</summary>
    public ReadOnlySpan<byte> Piece(int id) => pieces[id];

    /// <summary>The merge score of a piece.</summary>
    public float Score(int id) => scores[id];

    /// <inheritdoc />
    public bool IsSpecial(int id) => id is Unk or Bos or Eos;

    /// <summary>
    /// The vocabulary as SentencePiece pieces (spaces as ▁, <c>&lt;unk&gt;</c>/<c>&lt;s&gt;</c>/<c>&lt;/s&gt;</c>, byte pieces
    /// <c>&lt;0xNN&gt;</c>), for exports; run.c always adds the dummy prefix and falls back to bytes. A piece that is not UTF-8 is an <see cref="InputException"/>.
    /// </summary>
    public SentencePieceVocabulary Vocabulary()
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var entries = new SentencePieceEntry[pieces.Length];
        for (var id = 0; id < pieces.Length; id++)
        {
            entries[id] = id switch
            {
                Unk => new SentencePieceEntry("<unk>", scores[id], SentencePieceKind.Unknown),
                Bos => new SentencePieceEntry("<s>", scores[id], SentencePieceKind.Control),
                Eos => new SentencePieceEntry("</s>", scores[id], SentencePieceKind.Control),
                < ByteOffset + 256 => new SentencePieceEntry($"<0x{id - ByteOffset:X2}>", scores[id], SentencePieceKind.Byte),
                _ => new SentencePieceEntry(SentencePieceVocabulary.Escape(Utf8(strict, id)), scores[id], SentencePieceKind.Normal),
            };
        }
        return new SentencePieceVocabulary(entries) { UnknownId = Unk, BosId = Bos, EosId = Eos };
    }

    private string Utf8(UTF8Encoding strict, int id)
    {
        try
        {
            return strict.GetString(pieces[id]);
        }
        catch (DecoderFallbackException)
        {
            throw InputException.InFile(source, $"token {id} is not UTF-8 text; it cannot be written as a SentencePiece piece");
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => raw[id];

    /// <inheritdoc />
    public ReadOnlySpan<byte> DecodeStep(int previousId, int id)
    {
        if (IsSpecial(id)) return [];
        var bytes = raw[id];
        // run.c: after BOS, a leading space (the dummy prefix) is dropped.
        return previousId == Bos && pieces[id].Length > 0 && pieces[id][0] == (byte)' ' ? bytes.AsSpan(1) : bytes;
    }

    /// <inheritdoc />
    public string Decode(IReadOnlyList<int> ids, int previousId = -1) => TokenizerText.Decode(this, ids, previousId);

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<int>(text.Length + 2);
        if (addBos) tokens.Add(Bos);
        var utf8 = Encoding.UTF8.GetBytes(text);
        // run.c adds a dummy " " before non-empty text, as SentencePiece's add_dummy_prefix does.
        if (utf8.Length > 0 && lookup.TryGetValue(" ", out var space)) tokens.Add(space);

        // Each UTF-8 character (up to 4 bytes) becomes its piece, or its bytes where the vocabulary lacks it.
        var start = 0;
        for (var i = 0; i < utf8.Length; i++)
        {
            var next = i + 1;
            if (next < utf8.Length && (utf8[next] & 0xC0) == 0x80 && next - start < 4) continue;
            if (lookup.TryGetValue(Key(utf8.AsSpan(start, next - start)), out var id)) tokens.Add(id);
            else
                for (var j = start; j < next; j++) tokens.Add(utf8[j] + ByteOffset);
            start = next;
        }
        Merge(tokens);
        return tokens;
    }

    /// <inheritdoc />
    public async Task SaveToFolderAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        await File.WriteAllBytesAsync(Path.Combine(directory, FileName), fileBytes, cancellationToken);
    }

    /// <summary>
    /// run.c's merge loop — repeatedly merge the adjacent pair whose merged piece scores highest, leftmost on ties —
    /// done with a heap instead of rescanning, which gives the same result in O(n log n).
    /// </summary>
    private void Merge(List<int> tokens)
    {
        var n = tokens.Count;
        if (n < 2) return;
        var tok = tokens.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (var i = 0; i < n; i++)
        {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            alive[i] = true;
        }
        var heap = new PriorityQueue<(int Left, int Right, int LeftTok, int RightTok, int Merged), (float, int)>(
            Comparer<(float Score, int Left)>.Create((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void Consider(int left)
        {
            if (left < 0 || next[left] < 0) return;
            var right = next[left];
            var merged = Concat(pieces[tok[left]], pieces[tok[right]]);
            if (lookup.TryGetValue(merged, out var id)) heap.Enqueue((left, right, tok[left], tok[right], id), (scores[id], left));
        }
        for (var i = 0; i < n - 1; i++) Consider(i);
        while (heap.TryDequeue(out var m, out _))
        {
            if (!alive[m.Left] || !alive[m.Right] || next[m.Left] != m.Right || tok[m.Left] != m.LeftTok || tok[m.Right] != m.RightTok)
                continue; // stale: one side has merged since this pair was queued
            tok[m.Left] = m.Merged;
            alive[m.Right] = false;
            next[m.Left] = next[m.Right];
            if (next[m.Right] >= 0) prev[next[m.Right]] = m.Left;
            Consider(prev[m.Left]);
            Consider(m.Left);
        }
        tokens.Clear();
        for (var i = 0; i >= 0; i = next[i]) tokens.Add(tok[i]);
    }

    private static string Key(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static string Concat(byte[] a, byte[] b)
    {
        Span<byte> buffer = stackalloc byte[a.Length + b.Length];
        a.CopyTo(buffer);
        b.CopyTo(buffer[a.Length..]);
        return Key(buffer);
    }

    private static byte? ByteOf(byte[] piece)
    {
        // "<0xNN>" pieces stand for one raw byte.
        if (piece.Length != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>') return null;
        var hex = Encoding.ASCII.GetString(piece, 3, 2);
        return byte.TryParse(hex, System.Globalization.NumberStyles.HexNumber, null, out var b) ? b : null;
    }
}
