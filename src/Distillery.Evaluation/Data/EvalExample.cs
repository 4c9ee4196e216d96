using System.Collections.Generic;
using Distillery.Core.Chat;

namespace Distillery.Evaluation.Data;

/// <summary>One held-out example: plain text to score, a chat prompt with its reference answer, or a question with a reference final answer.</summary>
public abstract record EvalExample;

/// <summary>Text scored token by token (perplexity).</summary>
public sealed record TextExample(string Text) : EvalExample;

/// <summary>A chat prompt and the reference answer (the teacher's text) scored given the prompt.</summary>
public sealed record ChatExample(IReadOnlyList<ChatMessage> Prompt, string Reference) : EvalExample;

/// <summary>A question whose reference answer ends in a final number (GSM8K's <c>#### N</c>).</summary>
public sealed record QuestionExample(string Question, string Answer) : EvalExample;
