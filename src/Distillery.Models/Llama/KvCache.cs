using System;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>Run state of incremental decoding: every layer's keys and values, preallocated for <see cref="Capacity"/> positions.</summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] keys;
    private readonly Tensor[] values;

    /// <summary>Allocates zeroed keys and values of shape (B, n_kv, capacity, hs) for every layer.</summary>
    public KvCache(LlamaConfig config, int batchSize, int capacity, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, config.MaxPositionEmbeddings);
        Capacity = capacity;
        BatchSize = batchSize;
        KvHeads = config.KeyValueHeads;
        HeadDim = config.HeadDim;
        keys = new Tensor[config.NumHiddenLayers];
        values = new Tensor[config.NumHiddenLayers];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = zeros([batchSize, config.KeyValueHeads, capacity, config.HeadDim], device: device).DetachFromDisposeScope();
            values[i] = zeros([batchSize, config.KeyValueHeads, capacity, config.HeadDim], device: device).DetachFromDisposeScope();
        }
    }

    /// <summary>How many positions are filled.</summary>
    public int Length { get; private set; }

    /// <summary>How many positions fit.</summary>
    public int Capacity { get; }

    /// <summary>Sequences decoded side by side.</summary>
    public int BatchSize { get; }

    private int KvHeads { get; }

    private int HeadDim { get; }

    /// <summary>Forgets every position (the memory is kept for the next sequence).</summary>
    public void Reset() => Length = 0;

    /// <summary>Drops positions from the end, keeping the first <paramref name="length"/>.</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    /// <summary>Writes layer's new keys/values (B, n_kv, T, hs) after the filled positions; returns views of all of them.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var t = k.shape[2];
        if (Length + t > Capacity)
            throw new InvalidOperationException($"KV cache holds {Capacity} positions; {Length} filled and {t} more do not fit");
        using (var kDst = keys[layer].narrow(2, Length, t)) kDst.copy_(k);
        using (var vDst = values[layer].narrow(2, Length, t)) vDst.copy_(v);
        return (keys[layer].narrow(2, 0, Length + t), values[layer].narrow(2, 0, Length + t)); // (B, n_kv, past + T, hs)
    }

    /// <summary>Writes one position's keys and values (n_kv rows of hs, any layout that views as such) at <paramref name="position"/> (a 1-element int64 tensor holding <see cref="Length"/>); returns views of all filled positions.</summary>
    internal (Tensor Keys, Tensor Values) AppendOne(int layer, Tensor position, Tensor k, Tensor v)
    {
        keys[layer].index_copy_(2, position, k.view(BatchSize, KvHeads, 1, HeadDim));
        values[layer].index_copy_(2, position, v.view(BatchSize, KvHeads, 1, HeadDim));
        return (keys[layer].narrow(2, 0, Length + 1), values[layer].narrow(2, 0, Length + 1)); // (1, n_kv, past + 1, hs)
    }

    /// <summary>Marks T more positions filled, after every layer has appended them.</summary>
    internal void Advance(int t) => Length += t;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in keys) t.Dispose();
        foreach (var t in values) t.Dispose();
    }
}
