using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;
using Distillery.Core.Tokens;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Models.Decoding;

/// <summary>Incremental decoding with a KV cache: one forward pass per token, sampling and logprobs on the CPU from one logits copy.</summary>
public static class TextGenerator
{
    private const long SampledStream = 0x5A3D1E; // derives the samples' random stream from the generation seed

    /// <summary>
    /// Continues <paramref name="promptIds"/> (BOS included where the model wants one) under the sampling parameters.
    /// Stops at max_tokens, the context length, a stop id of the tokenizer or the config's eos_token_id, or a stop string (excluded from the text).
    /// </summary>
    public static GenerationResult Generate(
        LlamaForCausalLM model,
        ITextTokenizer tokenizer,
        IReadOnlyList<int> promptIds,
        SamplingParameters parameters,
        Action<TokenLogprob>? onToken = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var weights = new LlamaInferenceWeights(model);
        return Generate(weights, tokenizer, promptIds, parameters, onToken, cancellationToken);
    }

    /// <summary>As <see cref="Generate(LlamaForCausalLM, ITextTokenizer, IReadOnlyList{int}, SamplingParameters, Action{TokenLogprob}?, CancellationToken)"/>, over a weight snapshot shared between calls.</summary>
    public static GenerationResult Generate(
        LlamaInferenceWeights weights,
        ITextTokenizer tokenizer,
        IReadOnlyList<int> promptIds,
        SamplingParameters parameters,
        Action<TokenLogprob>? onToken = null,
        CancellationToken cancellationToken = default) =>
        Generate(weights, tokenizer, promptIds, parameters, watermark: null, onToken, cancellationToken);

    /// <summary>
    /// As <see cref="Generate(LlamaInferenceWeights, ITextTokenizer, IReadOnlyList{int}, SamplingParameters, Action{TokenLogprob}?, CancellationToken)"/>,
    /// with each step's distribution biased by <paramref name="watermark"/> (none when null); logprobs are reported from the biased distribution.
    /// </summary>
    public static GenerationResult Generate(
        LlamaInferenceWeights weights,
        ITextTokenizer tokenizer,
        IReadOnlyList<int> promptIds,
        SamplingParameters parameters,
        GreenListWatermark? watermark,
        Action<TokenLogprob>? onToken = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var model = weights.Model;
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        var config = model.Config;
        if (promptIds.Count == 0) throw InputException.InField("prompt", "is empty and the tokenizer has no BOS to start from; give some text");
        if (promptIds.Count >= config.MaxPositionEmbeddings)
            throw InputException.InField("prompt", $"is {promptIds.Count} tokens; the model's context holds {config.MaxPositionEmbeddings}, leaving no room to generate");
        foreach (var id in promptIds)
            if (id < 0 || id >= config.VocabSize) throw InputException.InField("prompt", $"token id {id} is outside the model's vocabulary (0–{config.VocabSize - 1})");

        var capacity = (int)Math.Min(config.MaxPositionEmbeddings, (long)promptIds.Count + parameters.MaxTokens);
        var random = parameters.Seed is { } seed ? new Random(seed) : new Random();
        // Its own stream, so asking for samples never changes the text that is generated.
        var sampleRandom = parameters.SampledLogprobs == 0 ? null : new Random(SeedMix.Of(parameters.Seed ?? Random.Shared.Next(), SampledStream, 0));
        var stops = parameters.Stop;
        var stopIds = new HashSet<int>(tokenizer.StopIds);
        stopIds.UnionWith(config.EosTokenIds);
        var generated = new List<int>();
        var starts = new List<int>(); // byte offset in the text where each generated token begins
        var logprobs = new List<TokenLogprob>();
        var text = new List<byte>();
        var distribution = new float[config.VocabSize]; // log-softmax of the next-token logits
        long tPrefill = 0, tForward = 0, tSampling = 0, tDecoding = 0;
        var finish = FinishReason.Length;
        var stopAt = -1; // char index of a stop string in the decoded text

        var wasTraining = model.training;
        model.eval();
        try
        {
            using var inference = inference_mode();
            var t0 = Stopwatch.GetTimestamp();
            using var decoder = new LlamaDecoder(weights, capacity);
            var cache = decoder.Cache;
            decoder.Prefill(promptIds, distribution, logSoftmax: true); // log-probabilities: sampling is shift-invariant, and logprobs need no log-sum-exp
            tPrefill = Stopwatch.GetTimestamp() - t0;
            var previous = promptIds[^1];
            var history = watermark is null ? null : new List<int>(promptIds); // the watermark's context: prompt and generated ids
            while (generated.Count < parameters.MaxTokens)
            {
                cancellationToken.ThrowIfCancellationRequested();
                t0 = Stopwatch.GetTimestamp();
                if (history is not null) watermark!.Apply(distribution, CollectionsMarshal.AsSpan(history));
                var next = Sampler.Sample(distribution, parameters.Temperature, parameters.TopK, parameters.TopP, random);
                var entry = Describe(tokenizer, distribution, next, parameters.TopLogprobs, normalized: true);
                if (sampleRandom is not null)
                    entry = entry with { SampledLogprobs = [.. Sampler.SampleMany(distribution, parameters.SampledLogprobs, sampleRandom).Select(id => Top(tokenizer, id, distribution[id]))] };
                var t1 = Stopwatch.GetTimestamp();
                tSampling += t1 - t0;
                if (stopIds.Contains(next))
                {
                    finish = FinishReason.Stop;
                    generated.Add(next);
                    starts.Add(text.Count);
                    break;
                }
                generated.Add(next);
                history?.Add(next);
                starts.Add(text.Count);
                logprobs.Add(entry);
                text.AddRange(tokenizer.DecodeStep(previous, next));
                previous = next;
                if (stops.Count > 0 && FindStop(text, stops) is var at and >= 0)
                {
                    stopAt = at;
                    finish = FinishReason.Stop;
                    tDecoding += Stopwatch.GetTimestamp() - t1;
                    break;
                }
                tDecoding += Stopwatch.GetTimestamp() - t1;
                onToken?.Invoke(entry);
                if (generated.Count >= parameters.MaxTokens || cache.Length >= capacity) break;
                t0 = Stopwatch.GetTimestamp();
                decoder.Step(next, distribution, logSoftmax: true);
                tForward += Stopwatch.GetTimestamp() - t0;
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        var completionTokens = generated.Count;
        var fullText = Encoding.UTF8.GetString(text.ToArray());
        var keptText = stopAt >= 0 ? fullText[..stopAt] : fullText;
        // Keep the tokens that begin before the end of the kept text (a stop string's own tokens go).
        var keptBytes = Encoding.UTF8.GetByteCount(keptText);
        var kept = 0;
        while (kept < logprobs.Count && (stopAt < 0 || starts[kept] < keptBytes)) kept++;
        if (kept < logprobs.Count) logprobs.RemoveRange(kept, logprobs.Count - kept);
        var ids = generated.GetRange(0, kept);
        return new GenerationResult(keptText, ids, logprobs, finish, promptIds.Count, completionTokens)
        {
            Timings = GenerationTimings.FromTicks(tPrefill, tForward, tSampling, tDecoding),
        };
    }

    /// <summary>
    /// The token's logprob under the model (temperature 1) and its <paramref name="topK"/> most likely alternatives,
    /// from logits, or from log-probabilities already when <paramref name="normalized"/>.
    /// </summary>
    public static TokenLogprob Describe(ITextTokenizer tokenizer, ReadOnlySpan<float> logits, int id, int topK, bool normalized = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var lse = normalized ? 0 : Sampler.LogSumExp(logits);
        var top = new TopLogprob[Math.Max(0, Math.Min(topK, logits.Length))];
        if (top.Length > 0)
        {
            var best = Sampler.TopK(logits, top.Length);
            for (var i = 0; i < best.Length; i++) top[i] = Top(tokenizer, best[i], logits[best[i]] - lse);
        }
        var bytes = SafeBytes(tokenizer, id);
        return new TokenLogprob(TokenizerText.Display(bytes), TokenizerText.ByteList(bytes), logits[id] - lse, top) { Id = id };
    }

    private static TopLogprob Top(ITextTokenizer tokenizer, int id, double logprob)
    {
        var bytes = SafeBytes(tokenizer, id);
        return new TopLogprob(TokenizerText.Display(bytes), TokenizerText.ByteList(bytes), logprob) { Id = id };
    }

    private static ReadOnlySpan<byte> SafeBytes(ITextTokenizer tokenizer, int id) =>
        id < tokenizer.VocabSize ? tokenizer.TokenBytes(id) : []; // a model may have more rows than its tokenizer has ids

    private static int FindStop(List<byte> text, IReadOnlyList<string> stops)
    {
        var decoded = Encoding.UTF8.GetString(text.ToArray());
        var first = -1;
        foreach (var s in stops)
        {
            if (string.IsNullOrEmpty(s)) continue;
            var at = decoded.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }
}
