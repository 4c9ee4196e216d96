using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Distillery.Teachers.Gguf;

namespace Distillery.Pipeline;

/// <summary>Runs an exported GGUF in llama.cpp and compares its greedy decoding with Distillery's.</summary>
internal static class GgufVerification
{
    private const string Prompt = "Once upon a time";
    private static readonly SamplingParameters Greedy = new() { Temperature = 0, MaxTokens = 32 };

    /// <summary>f32 and f16: llama.cpp's greedy tokens must equal Distillery's on the weights the file holds (read back by Distillery's own reader); a difference is a <see cref="DistilleryException"/>.</summary>
    public static GgufCheck Exact(ModelBundle bundle, string gguf)
    {
        var ids = bundle.EncodePrompt(Prompt);
        var (model, _) = LlamaGguf.Load(gguf);
        IReadOnlyList<int> ours;
        using (var exported = new ModelBundle("gguf:" + gguf, model, bundle.Tokenizer))
            ours = exported.Generate(ids, Greedy).TokenIds;
        using var llama = LlamaCppModel.Load(gguf, contextSize: Math.Min(bundle.Config.MaxPositionEmbeddings, 2048));
        var check = Compare(ours, llama.Greedy(ids, ours.Count));
        return check.Identical
            ? check
            : throw new DistilleryException($"llama.cpp's greedy tokens differ from Distillery's after {check.SamePrefix} of {check.Tokens} tokens for \"{Prompt}\"");
    }

    /// <summary>q8_0: where llama.cpp's greedy tokens first leave the f32 model's, and the largest logit error against f32 along the f32 model's text.</summary>
    public static GgufCheck Quantised(ModelBundle bundle, string gguf)
    {
        var ids = bundle.EncodePrompt(Prompt);
        var ours = bundle.Generate(ids, Greedy).TokenIds;
        using var llama = LlamaCppModel.Load(gguf, contextSize: Math.Min(bundle.Config.MaxPositionEmbeddings, 2048));
        var check = Compare(ours, llama.Greedy(ids, ours.Count));
        var sequence = ids.Concat(ours).ToArray();
        return check with { LargestLogitError = LogitComparison.LargestError(bundle.Model, sequence, llama.Logits(sequence)), Positions = sequence.Length };
    }

    private static GgufCheck Compare(IReadOnlyList<int> ours, IReadOnlyList<int> theirs)
    {
        var same = ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count();
        return new GgufCheck(Prompt, ours.Count, same, same == ours.Count && theirs.Count == ours.Count);
    }
}
