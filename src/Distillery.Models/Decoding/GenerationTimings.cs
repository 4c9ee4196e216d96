using System;

namespace Distillery.Models.Decoding;

/// <summary>Where a generation's time went, in seconds: the prompt's forward pass, per-token forwards, sampling and logprobs, text decoding.</summary>
public sealed record GenerationTimings(double Prefill, double Forward, double Sampling, double Decoding)
{
    /// <summary>All of it.</summary>
    public double Total => Prefill + Forward + Sampling + Decoding;

    internal static double Seconds(long ticks) => ticks / (double)System.Diagnostics.Stopwatch.Frequency;

    internal static GenerationTimings FromTicks(long prefill, long forward, long sampling, long decoding) =>
        new(Seconds(prefill), Seconds(forward), Seconds(sampling), Seconds(decoding));

    /// <summary>Formats as "prefill … forward … sampling … decoding" in milliseconds.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"prefill {Prefill * 1e3:F1} ms, forward {Forward * 1e3:F1} ms, sampling {Sampling * 1e3:F1} ms, decoding {Decoding * 1e3:F1} ms");
}
