using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// Batch decoding through the model's own <see cref="LlamaForCausalLM.Forward"/> at every position: the reference that
/// <see cref="LlamaBatchDecoder"/> is tested against, and the path that runs any forward hooks.
/// </summary>
public sealed class ModuleBatchDecoder : IBatchDecoder
{
    private readonly LlamaForCausalLM model;

    /// <summary>A decoder of <paramref name="rows"/> sequences with a KV cache of <paramref name="capacity"/> positions.</summary>
    public ModuleBatchDecoder(LlamaForCausalLM model, int rows, int capacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        Rows = rows;
        Cache = new KvCache(model.Config, rows, capacity, model.OutputWeight.device);
    }

    /// <inheritdoc />
    public int Rows { get; }

    /// <inheritdoc />
    public KvCache Cache { get; }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<long> ids, int length, Span<float> logits) => Forward(model, Cache, ids, length, logits);

    /// <inheritdoc />
    public void Step(ReadOnlySpan<long> ids, Span<float> logits) => Forward(model, Cache, ids, 1, logits);

    /// <inheritdoc />
    public void Dispose() => Cache.Dispose();

    /// <summary>Runs B rows of <paramref name="length"/> ids through the model into <paramref name="cache"/>; copies out the last position's logits.</summary>
    internal static void Forward(LlamaForCausalLM model, KvCache cache, ReadOnlySpan<long> ids, int length, Span<float> logits)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(ids.Length, cache.BatchSize * length, nameof(ids));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(ids.ToArray(), [cache.BatchSize, length], ScalarType.Int64).to(model.OutputWeight.device); // (B, T)
        var last = model.Forward(input, cache).Logits[.., -1];                                                         // (B, V)
        CopyOut(last, logits);
    }

    /// <summary>Copies a (B, V) logits tensor into a row-major float span.</summary>
    internal static void CopyOut(Tensor logits, Span<float> destination)
    {
        if (logits.device_type == DeviceType.CPU && logits.dtype == ScalarType.Float32 && logits.is_contiguous())
        {
            logits.data<float>().CopyTo(destination);
            return;
        }
        using var cpu = logits.to(ScalarType.Float32).cpu().contiguous();
        cpu.data<float>().CopyTo(destination);
    }
}
