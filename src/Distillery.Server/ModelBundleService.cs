using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Tokens;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;

namespace Distillery.Server;

/// <summary>
/// Serves a Distillery model bundle (any spec <see cref="ModelLoader"/> loads) through the server's model interface, its
/// samples biased by <paramref name="watermark"/> where one is given.
/// </summary>
public sealed class ModelBundleService(ModelBundle bundle, string modelId, GreenListWatermark? watermark = null) : ILanguageModelService
{
    /// <inheritdoc />
    public string ModelId { get; } = modelId;

    /// <inheritdoc />
    public int ContextLength => bundle.Config.MaxPositionEmbeddings;

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages) => bundle.EncodePrompt(bundle.ChatTemplate.Apply(messages));

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeText(string text) => bundle.EncodePrompt(text);

    /// <inheritdoc />
    public Task<GenerationOutcome> GenerateAsync(IReadOnlyList<int> prompt, SamplingParameters sampling, Action<TokenLogprob>? onToken, CancellationToken cancellationToken = default)
    {
        var result = TextGenerator.Generate(bundle.InferenceWeights(), bundle.Tokenizer, prompt, sampling, watermark, onToken, cancellationToken);
        return Task.FromResult(new GenerationOutcome(result.Text, result.Logprobs, result.FinishReasonText, result.PromptTokens, result.CompletionTokens));
    }

    /// <inheritdoc />
    public IReadOnlyList<int> TextOffsets(string text, IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        // By the bytes each token stands for in the text, not the pieces' own lengths: a dummy-prefix space is not in the text.
        var offsets = TokenOffsets.Map(bundle.Tokenizer, text, tokens);
        var charAt = Utf8CharIndex(text);
        return [.. Enumerable.Range(0, offsets.Count).Select(i => charAt[offsets.Start(i)])];
    }

    /// <summary>For each UTF-8 byte position of the text (and its end), the index of the character it belongs to.</summary>
    private static int[] Utf8CharIndex(string text)
    {
        var map = new List<int>(text.Length + 1);
        for (var i = 0; i < text.Length; i++)
        {
            var wide = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var bytes = Encoding.UTF8.GetByteCount(text.AsSpan(i, wide ? 2 : 1));
            for (var b = 0; b < bytes; b++) map.Add(i);
            if (wide) i++;
        }
        map.Add(text.Length);
        return [.. map];
    }

    /// <inheritdoc />
    public IReadOnlyList<ScoredToken> Score(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0) return [];
        var scored = TokenScoring.Score(bundle.Model, bundle.Tokenizer, tokens, topLogprobs);
        var first = new ScoredToken(tokens[0], bundle.Tokenizer.Decode([tokens[0]]), null, []);
        return [first, .. scored.Select((t, i) => new ScoredToken(tokens[i + 1], t.Token, t.Logprob, t.TopLogprobs))];
    }
}
