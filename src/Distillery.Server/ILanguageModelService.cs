using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Tokens;

namespace Distillery.Server;

/// <summary>What the server needs from a local model: tokenising, generating with logprobs, and scoring given text.</summary>
public interface ILanguageModelService
{
    /// <summary>The model id clients name in requests and <c>/v1/models</c> lists.</summary>
    string ModelId { get; }

    /// <summary>The longest sequence (prompt plus completion) the model accepts.</summary>
    int ContextLength { get; }

    /// <summary>Token ids of a chat rendered with the model's template, ending where the assistant's answer begins.</summary>
    IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages);

    /// <summary>Token ids of plain text, with the model's beginning-of-sequence token where it uses one.</summary>
    IReadOnlyList<int> EncodeText(string text);

    /// <summary>Generates a continuation of the prompt, reporting each token as it is produced.</summary>
    Task<GenerationOutcome> GenerateAsync(IReadOnlyList<int> prompt, SamplingParameters sampling, Action<TokenLogprob>? onToken, CancellationToken cancellationToken = default);

    /// <summary>Where each token of <paramref name="tokens"/>, an encoding of <paramref name="text"/>, starts in the text, in UTF-16 characters (the legacy API's <c>text_offset</c>).</summary>
    IReadOnlyList<int> TextOffsets(string text, IReadOnlyList<int> tokens);

    /// <summary>Each token of a sequence with its logprob given its prefix and the top-k alternatives (none for the first token).</summary>
    IReadOnlyList<ScoredToken> Score(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default);
}

/// <summary>A finished generation: its text, tokens with logprobs, why it stopped ("stop" or "length"), and token counts.</summary>
public sealed record GenerationOutcome(string Text, IReadOnlyList<TokenLogprob> Tokens, string FinishReason, int PromptTokens, int CompletionTokens);

/// <summary>A token of scored text: its id and text, its logprob given the prefix (null for the first token), and alternatives.</summary>
public sealed record ScoredToken(int Id, string Token, double? Logprob, IReadOnlyList<TopLogprob> TopLogprobs);
