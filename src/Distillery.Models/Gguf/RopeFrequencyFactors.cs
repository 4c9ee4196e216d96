using System;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using Distillery.Core.Errors;
using Distillery.Models.Llama;

namespace Distillery.Models.Gguf;

/// <summary>
/// Llama 3's RoPE scaling as llama.cpp stores it: a <c>rope_freqs.weight</c> tensor of per-frequency divisors
/// (unscaled inverse frequency / scaled one), and back from those divisors to the <c>rope_scaling</c> object of config.json.
/// </summary>
public static class RopeFrequencyFactors
{
    /// <summary>The llama.cpp tensor name.</summary>
    public const string TensorName = "rope_freqs.weight";

    /// <summary>The divisor of each inverse frequency (hs/2 of them) that <see cref="Rotary.InverseFrequencies"/> applies, or null without scaling.</summary>
    public static float[]? Of(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.RopeScaling is null) return null;
        var plain = Rotary.InverseFrequencies(config.HeadDim, config.RopeTheta);
        var scaled = Rotary.InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeScaling);
        return plain.Zip(scaled, (p, s) => (float)(p / s)).ToArray();
    }

    /// <summary>
    /// The <c>llama3</c> rope_scaling whose divisors are <paramref name="factors"/>: the largest divisor is the factor, and the
    /// blended band between fixes the low/high frequency factors for the given original context; null where every divisor is 1.
    /// </summary>
    public static JsonObject? ToLlama3Scaling(float[] factors, int headDim, double theta, int originalContext, string source)
    {
        ArgumentNullException.ThrowIfNull(factors);
        if (factors.Length != headDim / 2) throw InputException.InFile(source, $"{TensorName} has {factors.Length} values; head dimension {headDim} needs {headDim / 2}");
        double factor = factors.Max();
        if (factor <= 1 + 1e-6) return null;
        var inv = Rotary.InverseFrequencies(headDim, theta);
        // Inside the band, 1/r = (1 − s)/factor + s with s = (C/λ − low)/(high − low): linear in 1/λ, so two points give low and high.
        var band = Enumerable.Range(0, factors.Length).Where(j => factors[j] > 1 + 1e-4 && factors[j] < factor * (1 - 1e-4)).ToArray();
        if (band.Length < 2)
            throw InputException.InFile(source, $"{TensorName} is not Llama 3 RoPE scaling Distillery can read back (fewer than two frequencies in the blended band)");
        double S(int j) => (1 / factors[j] - 1 / factor) / (1 - 1 / factor);
        double X(int j) => inv[j] / (2 * Math.PI); // 1/λ
        int a = band[0], b = band[^1];
        var slope = (S(b) - S(a)) / (X(b) - X(a));
        var intercept = S(a) - slope * X(a);
        var width = originalContext / slope;     // high − low
        var low = -intercept * width;
        var high = low + width;
        var scaling = new JsonObject
        {
            ["factor"] = factor,
            ["high_freq_factor"] = Math.Round(high, 6),
            ["low_freq_factor"] = Math.Round(low, 6),
            ["original_max_position_embeddings"] = originalContext,
            ["rope_type"] = "llama3",
        };
        var check = Rotary.InverseFrequencies(headDim, theta, scaling);
        for (var j = 0; j < factors.Length; j++)
            if (Math.Abs(inv[j] / check[j] / factors[j] - 1) > 1e-4)
                throw InputException.InFile(source, $"{TensorName} value {j} ({factors[j].ToString(CultureInfo.InvariantCulture)}) does not follow Llama 3 RoPE scaling; Distillery cannot run this file");
        return scaling;
    }
}
