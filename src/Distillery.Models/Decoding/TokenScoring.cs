using System;
using System.Collections.Generic;
using Distillery.Core.Tokens;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Models.Decoding;

/// <summary>Scores a given token sequence under a model: each token's logprob given the ones before it (the API's <c>echo</c>).</summary>
public static class TokenScoring
{
    /// <summary>
    /// One entry per token after the first: its logprob given its prefix and the <paramref name="topLogprobs"/>
    /// most likely alternatives. (The first token has no prefix to be scored against.)
    /// </summary>
    public static IReadOnlyList<TokenLogprob> Score(LlamaForCausalLM model, ITextTokenizer tokenizer, IReadOnlyList<int> ids, int topLogprobs = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count < 2) return [];
        if (ids.Count > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"{ids.Count} tokens exceed the model's context ({model.Config.MaxPositionEmbeddings})", nameof(ids));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var input = new long[ids.Count];
        for (var i = 0; i < input.Length; i++) input[i] = ids[i];
        var logits = model.Forward(tensor(input, [1, input.Length], device: model.Model.EmbedTokens.weight!.device)).Logits;
        var rows = logits[0].to(ScalarType.Float32).cpu().data<float>().ToArray(); // (T·V)
        var vocab = model.Config.VocabSize;
        var result = new TokenLogprob[ids.Count - 1];
        for (var t = 0; t + 1 < ids.Count; t++)
            result[t] = TextGenerator.Describe(tokenizer, rows.AsSpan(t * vocab, vocab), ids[t + 1], topLogprobs);
        return result;
    }
}
