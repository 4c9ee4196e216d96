using System.Collections.Generic;
using Distillery.Core.Tokens;

namespace Distillery.Models.Decoding;

/// <summary>Why generation ended, named as the OpenAI API names it.</summary>
public enum FinishReason
{
    /// <summary>The model ended the sequence (EOS) or a stop string appeared: "stop".</summary>
    Stop,

    /// <summary>max_tokens or the context length was reached: "length".</summary>
    Length,
}

/// <summary>A completion: its text, tokens with logprobs and alternatives, why it ended, and token counts.</summary>
/// <param name="Text">The generated text (stop string and EOS excluded).</param>
/// <param name="TokenIds">The generated token ids kept in the text.</param>
/// <param name="Logprobs">One entry per kept token: its logprob under the model (temperature 1) and the top alternatives.</param>
/// <param name="FinishReason">Why it ended.</param>
/// <param name="PromptTokens">Tokens in the prompt (BOS included).</param>
/// <param name="CompletionTokens">Tokens the model generated, an EOS or stop string included.</param>
public sealed record GenerationResult(
    string Text,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<TokenLogprob> Logprobs,
    FinishReason FinishReason,
    int PromptTokens,
    int CompletionTokens)
{
    /// <summary>The finish reason as the OpenAI API writes it: "stop" or "length".</summary>
    public string FinishReasonText => FinishReason == FinishReason.Stop ? "stop" : "length";

    /// <summary>Where the time went.</summary>
    public GenerationTimings Timings { get; init; } = new(0, 0, 0, 0);
}
