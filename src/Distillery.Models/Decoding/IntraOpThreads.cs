using System;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Decoding;

/// <summary>
/// Runs token-by-token decoding of a small model on one intra-op thread, and restores libtorch's thread count afterwards.
/// </summary>
/// <remarks>
/// Decoding one position of a small model is a few dozen tensor ops of a few thousand multiply-adds each, too small to
/// split across threads: handing each op to libtorch's pool costs more than the op. Measured on the demo's student
/// (hidden size 32, batch 16, 2 cores): sampling 96 tokens took 274 ms per batch on two threads and 62 ms on one.
/// Larger models keep libtorch's count. The count is process-wide: while any scope is open it is one, and the last scope
/// to close restores the count from before the first opened.
/// </remarks>
public sealed class IntraOpThreads : IDisposable
{
    /// <summary>The most multiply-adds in one position's MLP projection (rows × hidden × intermediate) decoded on one thread.</summary>
    public const long SmallWork = 1L << 20;

    private static readonly object Gate = new();
    private static int open;
    private static int saved;
    private bool closed;

    private IntraOpThreads()
    {
        lock (Gate)
        {
            if (open++ == 0)
            {
                saved = get_num_threads();
                if (saved != 1) set_num_threads(1);
            }
        }
    }

    /// <summary>A scope on one thread while decoding <paramref name="rows"/> sequences of a model this small; otherwise null (nothing changes).</summary>
    public static IntraOpThreads? ForDecoding(LlamaConfig config, int rows)
    {
        ArgumentNullException.ThrowIfNull(config);
        return (long)rows * config.HiddenSize * config.IntermediateSize <= SmallWork ? new IntraOpThreads() : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (Gate)
        {
            if (closed) return;
            closed = true;
            if (--open == 0 && saved != 1) set_num_threads(saved);
        }
    }
}
