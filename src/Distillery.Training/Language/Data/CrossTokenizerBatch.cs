using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Tokens;
using Distillery.Training.CrossTokenizer;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Data;

/// <summary>
/// The teacher side of an <see cref="LmBatch"/> whose examples carry <see cref="CrossTokenizerRow"/>s: the chunks packed
/// against the batch's student length, and the teacher's stored token logprobs (top-k data) or its input ids (a local
/// teacher), right-padded.
/// </summary>
public sealed class CrossTokenizerBatch
{
    private CrossTokenizerBatch(IReadOnlyList<IReadOnlyList<AlignedChunk>> rows, ChunkTensors chunks, IReadOnlyList<IReadOnlyList<TokenLogprob>> teacherTokens,
        Tensor? teacherTokenLogprobs, Tensor? teacherInputs)
    {
        Rows = rows;
        Chunks = chunks;
        TeacherTokens = teacherTokens;
        TeacherTokenLogprobs = teacherTokenLogprobs;
        TeacherInputs = teacherInputs;
    }

    /// <summary>Each row's chunks, in batch coordinates.</summary>
    public IReadOnlyList<IReadOnlyList<AlignedChunk>> Rows { get; }

    /// <summary>The chunks, packed.</summary>
    public ChunkTensors Chunks { get; }

    /// <summary>Each row's stored teacher tokens (empty for a local teacher).</summary>
    public IReadOnlyList<IReadOnlyList<TokenLogprob>> TeacherTokens { get; }

    /// <summary>The stored logprob of each teacher token, (B, Tt) float32, 0 where padded; null for a local teacher.</summary>
    public Tensor? TeacherTokenLogprobs { get; }

    /// <summary>The local teacher's input ids (each row's ids but the last), (B, Tt) int64, 0 where padded; null for stored data.</summary>
    public Tensor? TeacherInputs { get; }

    /// <summary>Builds the teacher side of <paramref name="batch"/> on the batch's device.</summary>
    public static CrossTokenizerBatch Of(LmBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var cross = batch.Examples.Select(e => e.Cross ?? throw new ArgumentException("a cross-tokenizer batch needs examples built with their teacher side", nameof(batch))).ToArray();
        var rows = cross.Select(c => c.Chunks).ToArray();
        var device = batch.Inputs.device;
        var studentLength = (int)batch.Inputs.shape[1];
        if (cross.All(c => c.TeacherIds is not null))
        {
            var length = Math.Max(1, cross.Max(c => c.TeacherIds!.Length) - 1);
            var inputs = new long[cross.Length * length];
            for (var b = 0; b < cross.Length; b++)
                for (var t = 0; t + 1 < cross[b].TeacherIds!.Length; t++) inputs[b * length + t] = cross[b].TeacherIds![t];
            return new CrossTokenizerBatch(rows, ChunkTensors.Pack(rows, studentLength, length), [], null, tensor(inputs, [cross.Length, length]).to(device));
        }
        var tokens = cross.Select(c => c.TeacherTokens ?? throw new ArgumentException("a cross-tokenizer row has neither stored tokens nor teacher ids", nameof(batch))).ToArray();
        var teacherLength = Math.Max(1, tokens.Max(t => t.Count));
        var logprobs = new float[cross.Length * teacherLength];
        for (var b = 0; b < tokens.Length; b++)
            for (var t = 0; t < tokens[b].Count; t++) logprobs[b * teacherLength + t] = (float)tokens[b][t].Logprob;
        return new CrossTokenizerBatch(rows, ChunkTensors.Pack(rows, studentLength, teacherLength), tokens,
            tensor(logprobs, [cross.Length, teacherLength]).to(device), null);
    }
}
