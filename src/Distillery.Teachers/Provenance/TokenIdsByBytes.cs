using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;
using Distillery.Models.Tokenizers;

namespace Distillery.Teachers.Provenance;

/// <summary>
/// The watermark vocabulary's id of each token a suspect reported: the id a local model gives, else the tokenizer's id for the
/// token's bytes (an API suspect's logprobs carry bytes only).
/// </summary>
internal sealed class TokenIdsByBytes
{
    private readonly Dictionary<string, int>? byBytes;

    private TokenIdsByBytes(Dictionary<string, int>? byBytes) => this.byBytes = byBytes;

    /// <summary>The lookup for these completions: none needed where every token carries its id.</summary>
    public static TokenIdsByBytes For(IReadOnlyList<Completion> completions, ITextTokenizer? tokenizer)
    {
        var complete = completions.All(c => c.Tokens.All(t => t.Id is not null && t.TopLogprobs.All(a => a.Id is not null)));
        if (complete) return new(null);
        if (tokenizer is null) throw InputException.InField("--tokenizer", "is needed to score a suspect whose logprobs carry no token ids; give the watermarked teacher's tokenizer");
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < tokenizer.VocabSize; id++)
            if (!tokenizer.IsSpecial(id)) map.TryAdd(Convert.ToHexString(tokenizer.TokenBytes(id)), id);
        return new(map);
    }

    /// <summary>The id of a chosen token; one the tokenizer lacks is an input error (the wrong tokenizer).</summary>
    public int Of(TokenLogprob token) => token.Id ?? Find(token.Bytes)
        ?? throw InputException.InField("--tokenizer", $"has no token for the suspect's '{token.Token}'; give the watermarked teacher's tokenizer");

    /// <summary>The id of an alternative; null for one the tokenizer has no text token for (a control token such as BOS, which has no bytes).</summary>
    public int? Of(TopLogprob alternative) => alternative.Id ?? Find(alternative.Bytes);

    private int? Find(IReadOnlyList<int> bytes) =>
        byBytes!.TryGetValue(Convert.ToHexString([.. bytes.Select(b => (byte)b)]), out var id) ? id : null;
}
