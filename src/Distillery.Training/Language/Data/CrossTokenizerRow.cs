using System.Collections.Generic;
using Distillery.Core.Tokens;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Language.Data;

/// <summary>
/// A row's teacher side when the teacher tokenises differently from the student: the completion's chunks and the
/// teacher's tokens. Chunk positions are in the shifted coordinates of a batch (position t predicts token t): the student
/// side indexes <see cref="LmBatch.Targets"/> (an id at <c>Ids[i]</c> is target i − 1), the teacher side indexes
/// <see cref="TeacherTokens"/> (stored top-k data) or the targets of <see cref="TeacherIds"/> (a local teacher).
/// Chunks cut by truncation are left out.
/// </summary>
/// <param name="Chunks">The completion's aligned chunks, in text order.</param>
/// <param name="TeacherTokens">The dataset's stored teacher tokens of the completion (top-k mode), else null.</param>
/// <param name="TeacherIds">The local teacher's prompt + completion ids (white-box mode), else null.</param>
/// <param name="TeacherTokenCount">The teacher's completion tokens (counted or not), for the share that reached the loss.</param>
public sealed record CrossTokenizerRow(IReadOnlyList<AlignedChunk> Chunks, IReadOnlyList<TokenLogprob>? TeacherTokens, int[]? TeacherIds, int TeacherTokenCount);
