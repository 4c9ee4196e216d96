using System;
using System.Collections.Generic;

namespace Distillery.Training.Language.Data;

/// <summary>
/// One tokenised dataset row: the prompt and the teacher's completion as one id sequence in the student's vocabulary,
/// where the completion starts, and (for top-k distillation) the teacher's alternatives at each completion token.
/// </summary>
/// <param name="Ids">Prompt then completion ids (BOS first where the tokenizer has one), truncated to the sequence length.</param>
/// <param name="PromptLength">How many leading ids are prompt; they are never a loss target.</param>
/// <param name="TopK">Per completion token (index 0 = Ids[PromptLength]) the teacher's alternatives in student ids, or null; null for the whole row when absent.</param>
/// <param name="Teacher">The teacher that wrote the completion, as <c>provider:model</c> ("none" without provenance).</param>
/// <param name="GroupId">The prompt's id: rows of one prompt share it and land on the same side of the held-out split.</param>
public sealed record LmExample(int[] Ids, int PromptLength, IReadOnlyList<TopKAlternatives?>? TopK, string Teacher, string GroupId)
{
    /// <summary>Completion tokens: the positions that count towards the loss.</summary>
    public int CompletionLength => Math.Max(0, Ids.Length - PromptLength);

    /// <summary>The teacher side of a cross-tokenizer run (the teacher's tokenizer differs from the student's), else null.</summary>
    public CrossTokenizerRow? Cross { get; init; }
}

/// <summary>The teacher's top-k alternatives (or, for random-sampling KD, its samples, repeats kept) at one position, mapped to student ids, with their log-probabilities.</summary>
/// <param name="Ids">Student token ids.</param>
/// <param name="Logprobs">The teacher's log-probabilities of those tokens.</param>
public sealed record TopKAlternatives(int[] Ids, float[] Logprobs);
