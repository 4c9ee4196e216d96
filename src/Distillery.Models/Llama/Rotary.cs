using System;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>Rotary position embedding in the Hugging Face "rotate halves" convention: channel j pairs with channel j + hs/2.</summary>
public static class Rotary
{
    /// <summary>The inverse frequencies θ^(−2j/hs), j &lt; hs/2, with Llama 3 scaling applied where the config asks for it.</summary>
    public static double[] InverseFrequencies(int headDim, double theta, JsonObject? ropeScaling = null)
    {
        var half = headDim / 2;
        var inv = new double[half];
        for (var j = 0; j < half; j++) inv[j] = 1.0 / Math.Pow(theta, 2.0 * j / headDim);
        var type = ropeScaling?["rope_type"]?.ToString() ?? ropeScaling?["type"]?.ToString();
        if (type == "llama3")
        {
            // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended smoothly.
            var factor = Number(ropeScaling!["factor"]) ?? 8.0;
            var low = Number(ropeScaling["low_freq_factor"]) ?? 1.0;
            var high = Number(ropeScaling["high_freq_factor"]) ?? 4.0;
            var oldContext = Number(ropeScaling["original_max_position_embeddings"]) ?? 8192.0;
            double lowWavelen = oldContext / low, highWavelen = oldContext / high;
            for (var j = 0; j < half; j++)
            {
                var wavelen = 2 * Math.PI / inv[j];
                if (wavelen > lowWavelen) inv[j] /= factor;
                else if (wavelen >= highWavelen)
                {
                    var smooth = (oldContext / wavelen - low) / (high - low);
                    inv[j] = (1 - smooth) * inv[j] / factor + smooth * inv[j];
                }
            }
        }
        return inv;
    }

    /// <summary>A rope_scaling number, whether parsed from config.json or built in code as an integer or a double; null where absent.</summary>
    public static double? Number(JsonNode? node) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        _ => throw new FormatException($"rope_scaling value {node.ToJsonString()} is not a number"),
    };

    /// <summary>cos and sin tables of shape (maxPositions, hs), each half repeated so they multiply a whole head.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(int maxPositions, int headDim, double theta, JsonObject? ropeScaling = null)
    {
        var inv = InverseFrequencies(headDim, theta, ropeScaling);
        var half = headDim / 2;
        var cos = new float[maxPositions * headDim];
        var sin = new float[maxPositions * headDim];
        for (var p = 0; p < maxPositions; p++)
            for (var j = 0; j < half; j++)
            {
                var angle = p * inv[j];
                float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
                cos[p * headDim + j] = cos[p * headDim + j + half] = c;
                sin[p * headDim + j] = sin[p * headDim + j + half] = s;
            }
        return (tensor(cos).view(maxPositions, headDim), tensor(sin).view(maxPositions, headDim));
    }

    /// <summary>Rotates x (…, T, hs) by the angles in cos/sin (T, hs): <c>x·cos + rotate_half(x)·sin</c>.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], -1);
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }
}
