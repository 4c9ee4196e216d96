using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Metrics;

/// <summary>
/// Sample-level reverse KL: the model continues held-out prompts at temperature 1, and log q(yₜ) − log p(yₜ) is averaged
/// over every sampled token (the stop token included), an unbiased per-sequence estimate of KL(model ‖ teacher) on the
/// model's own text, the quantity on-policy distillation minimises. Seeded, so the same model gives the same figure.
/// </summary>
public static class SampleLevelReverseKl
{
    /// <summary>Mean log q − log p per sampled token (nats), or null when nothing was sampled; the teacher must share the model's vocabulary.</summary>
    public static double? Measure(LlamaForCausalLM model, LlamaForCausalLM teacher, IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyCollection<int> stopIds,
        int maxNewTokens, int seed, int batchSize = 16)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var context = Math.Min(model.Config.MaxPositionEmbeddings, teacher.Config.MaxPositionEmbeddings);
        var usable = prompts.Where(p => p.Count > 0 && p.Count < context).ToList();
        var random = new Random(seed);
        double sum = 0;
        long tokens = 0;
        for (var start = 0; start < usable.Count; start += batchSize)
        {
            var chunk = usable.Skip(start).Take(batchSize).ToList();
            var samples = BatchSampler.Sample(model, chunk, Math.Min(maxNewTokens, context - chunk.Max(p => p.Count)), 1.0, random, stopIds);
            for (var i = 0; i < chunk.Count; i++)
            {
                if (samples[i].Length == 0) continue;
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var ids = chunk[i].Concat(samples[i]).Select(id => (long)id).ToArray();
                var input = tensor(ids[..^1], [1, ids.Length - 1]).to(model.OutputWeight.device);
                var targets = tensor(ids[1..], [1, ids.Length - 1]).to(model.OutputWeight.device);
                // Position t predicts token t + 1: the sampled tokens are the targets from the prompt's last position on.
                var mask = (arange(1, ids.Length, dtype: ScalarType.Int64) >= chunk[i].Count).to_type(ScalarType.Float32).unsqueeze(0).to(model.OutputWeight.device);
                // Σ log q − log p = NLL under the teacher − NLL under the model.
                sum += TokenMetrics.NegativeLogLikelihoodSum(teacher.forward(input), targets, mask)
                       - TokenMetrics.NegativeLogLikelihoodSum(model.forward(input), targets, mask);
                tokens += samples[i].Length;
            }
        }
        return tokens > 0 ? sum / tokens : null;
    }
}
