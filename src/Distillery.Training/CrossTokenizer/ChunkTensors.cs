using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// A batch of <see cref="AlignedChunk"/> lists packed as index tensors, so that a loss can sum per-token values into
/// per-chunk values on either side with one <c>index_add</c>. Row b's chunk c has the flat slot b·C + c; a token in no
/// counted chunk (padding, a chunk past the padded length) points at the spare slot B·C, which is summed and discarded.
/// </summary>
/// <param name="StudentSlot">For each student token position, its chunk's flat slot, (B, Ts) int64.</param>
/// <param name="TeacherSlot">For each teacher token position, its chunk's flat slot, (B, Tt) int64.</param>
/// <param name="StudentFirst">The position of each chunk's first student token, (B, C) int64; 0 where the chunk is absent.</param>
/// <param name="TeacherFirst">The position of each chunk's first teacher token, (B, C) int64; 0 where the chunk is absent.</param>
/// <param name="Mask">Which chunks reach the loss, (B, C) bool.</param>
public sealed record ChunkTensors(Tensor StudentSlot, Tensor TeacherSlot, Tensor StudentFirst, Tensor TeacherFirst, Tensor Mask)
{
    /// <summary>The number of rows, B.</summary>
    public long Rows => Mask.shape[0];

    /// <summary>The padded number of chunks per row, C.</summary>
    public long ChunksPerRow => Mask.shape[1];

    /// <summary>The number of chunks that reach the loss (the normalizer for a per-chunk mean over this batch alone).</summary>
    public long Count => Mask.sum().item<long>();

    /// <summary>The number of teacher tokens inside counted chunks (for the share of teacher tokens that reached the loss).</summary>
    public long CountedTeacherTokens => TeacherSlot.lt(Rows * ChunksPerRow).sum().item<long>();

    /// <summary>
    /// Packs each row's chunks. A chunk reaches the loss when <paramref name="counts"/> accepts it (all do by default), it
    /// has at least one token on each side and its token ranges lie inside the padded lengths (a chunk cut by truncation
    /// does not count: its sums would be partial). Chunks within a row must not overlap on either side.
    /// </summary>
    /// <param name="rows">Each row's chunks, in text order.</param>
    /// <param name="studentLength">The padded student sequence length, Ts.</param>
    /// <param name="teacherLength">The padded teacher sequence length, Tt.</param>
    /// <param name="counts">Which chunks reach the loss (e.g. only those in the completion); null: every chunk.</param>
    public static ChunkTensors Pack(IReadOnlyList<IReadOnlyList<AlignedChunk>> rows, int studentLength, int teacherLength, Func<AlignedChunk, bool>? counts = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(studentLength);
        ArgumentOutOfRangeException.ThrowIfNegative(teacherLength);
        var batch = rows.Count;
        var perRow = 1;
        foreach (var row in rows) perRow = Math.Max(perRow, row.Count);
        long spare = (long)batch * perRow;

        var studentSlot = Filled(batch * studentLength, spare);
        var teacherSlot = Filled(batch * teacherLength, spare);
        var studentFirst = new long[batch * perRow];
        var teacherFirst = new long[batch * perRow];
        var mask = new bool[batch * perRow];
        for (var b = 0; b < batch; b++)
        {
            var row = rows[b];
            for (var c = 0; c < row.Count; c++)
            {
                var chunk = row[c];
                var inside = chunk.StudentStart >= 0 && chunk.StudentStart < chunk.StudentEnd && chunk.StudentEnd <= studentLength
                    && chunk.TeacherStart >= 0 && chunk.TeacherStart < chunk.TeacherEnd && chunk.TeacherEnd <= teacherLength;
                if (!inside || (counts is not null && !counts(chunk))) continue;
                var slot = (long)b * perRow + c;
                Claim(studentSlot, b * studentLength, chunk.StudentStart, chunk.StudentEnd, slot, spare, "student");
                Claim(teacherSlot, b * teacherLength, chunk.TeacherStart, chunk.TeacherEnd, slot, spare, "teacher");
                studentFirst[slot] = chunk.StudentStart;
                teacherFirst[slot] = chunk.TeacherStart;
                mask[slot] = true;
            }
        }
        return new ChunkTensors(
            tensor(studentSlot, [batch, studentLength]),
            tensor(teacherSlot, [batch, teacherLength]),
            tensor(studentFirst, [batch, perRow]),
            tensor(teacherFirst, [batch, perRow]),
            tensor(mask, [batch, perRow]));
    }

    /// <summary>Σ of a per-student-token value over each chunk's student tokens, (B, Ts) → (B, C); 0 for chunks that do not count.</summary>
    public Tensor StudentSums(Tensor perToken) => Sums(perToken, StudentSlot);

    /// <summary>Σ of a per-teacher-token value over each chunk's teacher tokens, (B, Tt) → (B, C); 0 for chunks that do not count.</summary>
    public Tensor TeacherSums(Tensor perToken) => Sums(perToken, TeacherSlot);

    /// <summary>The student's values (logits) at each chunk's first student token, (B, Ts, V) → (B, C, V).</summary>
    public Tensor AtStudentStarts(Tensor perPosition) => AtStarts(perPosition, StudentSlot, StudentFirst);

    /// <summary>The teacher's values (logits) at each chunk's first teacher token, (B, Tt, V) → (B, C, V).</summary>
    public Tensor AtTeacherStarts(Tensor perPosition) => AtStarts(perPosition, TeacherSlot, TeacherFirst);

    private Tensor Sums(Tensor perToken, Tensor slots)
    {
        CheckFits(perToken, slots, rank: 2);
        var flat = Rows * ChunksPerRow;
        // Tokens outside every counted chunk land in the spare slot, dropped below. Selecting (not multiplying) keeps a
        // NaN or −∞ in a padded position out of every counted sum.
        var values = where(slots.lt(flat).to(perToken.device), perToken, zeros_like(perToken));
        var sums = zeros(flat + 1, dtype: perToken.dtype, device: perToken.device).index_add(0, slots.flatten().to(perToken.device), values.flatten(), 1);
        return sums.narrow(0, 0, flat).reshape(Rows, ChunksPerRow);
    }

    private static Tensor AtStarts(Tensor perPosition, Tensor slots, Tensor first)
    {
        CheckFits(perPosition, slots, rank: 3);
        var index = first.to(perPosition.device).unsqueeze(-1).expand(first.shape[0], first.shape[1], perPosition.shape[^1]);
        return perPosition.gather(1, index);
    }

    /// <summary>The one check of what the chunk losses give a packing: values over its (B, T) token positions, with <paramref name="rank"/> dimensions.</summary>
    private static void CheckFits(Tensor perPosition, Tensor slots, int rank)
    {
        ArgumentNullException.ThrowIfNull(perPosition);
        if (perPosition.dim() != rank || perPosition.shape[0] != slots.shape[0] || perPosition.shape[1] != slots.shape[1])
            throw new ArgumentException($"values of shape [{string.Join(", ", perPosition.shape)}] do not match the packed token positions [{string.Join(", ", slots.shape)}]" +
                                        (rank == 3 ? " with a last dimension" : ""), nameof(perPosition));
    }

    private static long[] Filled(int length, long value)
    {
        var a = new long[length];
        Array.Fill(a, value);
        return a;
    }

    private static void Claim(long[] slots, int rowOffset, int start, int end, long slot, long spare, string side)
    {
        for (var t = start; t < end; t++)
        {
            if (slots[rowOffset + t] != spare)
                throw new ArgumentException($"chunks overlap at {side} token {t}; an alignment's chunks must partition the tokens", nameof(slots));
            slots[rowOffset + t] = slot;
        }
    }
}
