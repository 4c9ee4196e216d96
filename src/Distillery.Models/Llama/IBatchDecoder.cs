using System;

namespace Distillery.Models.Llama;

/// <summary>
/// Decodes <see cref="Rows"/> sequences side by side, every row at the same position, and writes each row's next-token
/// logits: the engine under <see cref="Decoding.BatchSampler"/>.
/// </summary>
public interface IBatchDecoder : IDisposable
{
    /// <summary>Sequences decoded side by side (B).</summary>
    int Rows { get; }

    /// <summary>The cache this decoder fills; <see cref="KvCache.Length"/> is the next position.</summary>
    KvCache Cache { get; }

    /// <summary>
    /// Feeds <paramref name="ids"/>, B rows of <paramref name="length"/> ids each (row-major), at the next positions and
    /// writes the logits after each row's last id into <paramref name="logits"/> (B rows of V, row-major).
    /// </summary>
    void Prefill(ReadOnlySpan<long> ids, int length, Span<float> logits);

    /// <summary>Feeds one id per row at the next position and writes the logits for the position after it (B rows of V).</summary>
    void Step(ReadOnlySpan<long> ids, Span<float> logits);
}
