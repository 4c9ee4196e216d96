using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>Samples a continuation from the model being trained (its live weights, not a snapshot), without gradients.</summary>
public static class StudentSampler
{
    /// <summary>
    /// Up to <paramref name="maxNewTokens"/> ids drawn at temperature 1 after <paramref name="promptIds"/>, ending early
    /// (and including) a stop id.
    /// </summary>
    public static int[] Sample(LlamaForCausalLM model, IReadOnlyList<int> promptIds, int maxNewTokens, Random random, IReadOnlyCollection<int> stopIds)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(stopIds);
        if (promptIds.Count == 0) throw new ArgumentException("the prompt is empty", nameof(promptIds));
        maxNewTokens = Math.Min(maxNewTokens, model.Config.MaxPositionEmbeddings - promptIds.Count);
        if (maxNewTokens < 1) return [];
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = model.OutputWeight.device;
        using var cache = new KvCache(model.Config, 1, promptIds.Count + maxNewTokens, device);
        var ids = new long[promptIds.Count];
        for (var i = 0; i < ids.Length; i++) ids[i] = promptIds[i];
        var next = tensor(ids, [1, ids.Length], ScalarType.Int64).to(device);
        var generated = new List<int>(maxNewTokens);
        while (generated.Count < maxNewTokens)
        {
            using var step = NewDisposeScope();
            var logits = model.Forward(next, cache).Logits[0, -1].to(ScalarType.Float32).cpu(); // (V)
            var id = Sampler.Sample(logits.data<float>().ToArray(), 1.0, 0, 1.0, random);
            generated.Add(id);
            if (stopIds.Contains(id)) break;
            next = tensor(new long[] { id }, [1, 1], ScalarType.Int64).to(device).MoveToOuterDisposeScope();
        }
        return [.. generated];
    }
}
