using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Errors;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Distillery.Teachers.Gguf;

/// <summary>
/// A GGUF model run by llama.cpp (through LLamaSharp): tokenising, per-position logits and greedy decoding.
/// The independent reference that Distillery's own GGUF export and reader are checked against, and the
/// backend for GGUF files Distillery cannot read itself (quantised ones).
/// </summary>
public sealed class LlamaCppModel : IDisposable
{
    private readonly LLamaWeights weights;
    private readonly LLamaContext context;

    private LlamaCppModel(LLamaWeights weights, LLamaContext context, int contextSize)
    {
        this.weights = weights;
        this.context = context;
        ContextSize = contextSize;
    }

    /// <summary>The number of positions the context holds.</summary>
    public int ContextSize { get; }

    /// <summary>The vocabulary size.</summary>
    public int VocabSize => this.weights.NativeHandle.Vocab.Count;

    /// <summary>Loads a GGUF file on the CPU for up to <paramref name="sequences"/> parallel sequences of <paramref name="contextSize"/> positions each.</summary>
    public static LlamaCppModel Load(string path, int contextSize = 512, int threads = 0, int sequences = 1)
    {
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)(contextSize * sequences),
            SeqMax = (uint)sequences,
            BatchSize = (uint)(contextSize * sequences),
            UBatchSize = (uint)(contextSize * sequences),
            GpuLayerCount = 0,
            // llama.cpp keeps its KV cache in f16 by default; f32 makes it a full-precision reference.
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false, // its CPU kernel rounds Q·K through f16
            Threads = threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount),
        };
        // llama.cpp logs every tensor to stderr; Distillery reports what matters itself.
        NativeLogConfig.llama_log_set((LLamaLogLevel level, string message) => { });
        try
        {
            var weights = LLamaWeights.LoadFromFile(parameters);
            return new LlamaCppModel(weights, weights.CreateContext(parameters), contextSize);
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or LLama.Exceptions.RuntimeError)
        {
            throw InputException.InFile(path, $"llama.cpp could not load it: {ErrorText.FirstLine(e)}");
        }
    }

    /// <summary>Token ids of text as llama.cpp tokenises it (with BOS where asked).</summary>
    public IReadOnlyList<int> Tokenize(string text, bool addBos = true) =>
        this.context.Tokenize(text, addBos, special: false).Select(t => (int)t).ToArray();

    /// <summary>The logits at every position of a token sequence (one fresh pass from position 0).</summary>
    public float[][] Logits(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        this.context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
        Check(this.context.NativeHandle.Decode(batch));
        return Enumerable.Range(0, tokens.Count).Select(i => this.context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>Greedy continuation of the prompt for up to maxTokens tokens, stopping at end of generation.</summary>
    public IReadOnlyList<int> Greedy(IReadOnlyList<int> prompt, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        this.context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        Check(this.context.NativeHandle.Decode(batch));
        var output = new List<int>();
        var position = prompt.Count;
        var logitIndex = prompt.Count - 1;
        while (output.Count < maxTokens && position < ContextSize)
        {
            var logits = this.context.NativeHandle.GetLogitsIth(logitIndex);
            var next = 0;
            for (var v = 1; v < logits.Length; v++) if (logits[v] > logits[next]) next = v;
            if (((LLamaToken)next).IsEndOfGeneration(this.weights.NativeHandle.Vocab)) break;
            output.Add(next);
            batch.Clear();
            batch.Add(next, position++, LLamaSeqId.Zero, logits: true);
            Check(this.context.NativeHandle.Decode(batch));
            logitIndex = 0;
        }
        return output;
    }

    /// <summary>Greedy continuations of several prompts decoded together, one batched llama.cpp call per step (no early stop).</summary>
    public IReadOnlyList<IReadOnlyList<int>> GreedyBatch(IReadOnlyList<IReadOnlyList<int>> prompts, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        this.context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        var logitRow = new int[prompts.Count];
        for (var s = 0; s < prompts.Count; s++)
            for (var i = 0; i < prompts[s].Count; i++)
            {
                if (i == prompts[s].Count - 1) logitRow[s] = batch.TokenCount;
                batch.Add(prompts[s][i], i, (LLamaSeqId)s, logits: i == prompts[s].Count - 1);
            }
        Check(this.context.NativeHandle.Decode(batch));
        var outputs = prompts.Select(_ => new List<int>()).ToArray();
        for (var step = 0; step < maxTokens; step++)
        {
            var next = new int[prompts.Count];
            for (var s = 0; s < prompts.Count; s++)
            {
                var logits = this.context.NativeHandle.GetLogitsIth(logitRow[s]);
                for (var v = 1; v < logits.Length; v++) if (logits[v] > logits[next[s]]) next[s] = v;
                outputs[s].Add(next[s]);
            }
            batch.Clear();
            for (var s = 0; s < prompts.Count; s++)
            {
                logitRow[s] = batch.TokenCount;
                batch.Add(next[s], prompts[s].Count + step, (LLamaSeqId)s, logits: true);
            }
            Check(this.context.NativeHandle.Decode(batch));
        }
        return outputs;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        this.context.Dispose();
        this.weights.Dispose();
    }

    private static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new DistilleryException($"llama.cpp failed to decode a batch ({result})");
    }
}
