using System;
using System.Collections.Generic;

namespace Distillery.Models.Decoding;

/// <summary>Pure next-token choice over one row of logits on the CPU: greedy, temperature, top-k, top-p; and log-softmax helpers.</summary>
public static class Sampler
{
    /// <summary>The index of the largest logit, the first one on ties (as llama2.c's argmax).</summary>
    public static int Argmax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>log Σ exp(logits), computed stably in double.</summary>
    public static double LogSumExp(ReadOnlySpan<float> logits)
    {
        double max = float.NegativeInfinity;
        foreach (var l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        return max + Math.Log(sum);
    }

    /// <summary>The k indices with the largest logits, largest first (ties: lower index first).</summary>
    public static int[] TopK(ReadOnlySpan<float> logits, int k)
    {
        k = Math.Min(k, logits.Length);
        if (k <= 0) return [];
        var top = new int[k];
        var count = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var v = logits[i];
            if (count == k && v <= logits[top[k - 1]]) continue;
            // Insert i keeping the list sorted descending; equal values keep the earlier index first.
            var pos = count < k ? count++ : k - 1;
            while (pos > 0 && logits[top[pos - 1]] < v)
            {
                top[pos] = top[pos - 1];
                pos--;
            }
            top[pos] = i;
        }
        return top;
    }

    /// <summary>
    /// Chooses the next token: greedy when temperature is 0; else softmax(logits / T) restricted to the top-k
    /// (0 = all) and then to the smallest set whose mass reaches top-p, sampled with <paramref name="random"/>.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, double temperature, int topK, double topP, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (temperature <= 0) return Argmax(logits);
        var n = logits.Length;
        int[] candidates;
        if (topK > 0 && topK < n) candidates = TopK(logits, topK);
        else if (topP < 1)
        {
            candidates = new int[n];
            for (var i = 0; i < n; i++) candidates[i] = i;
            var copy = logits.ToArray();
            Array.Sort(candidates, (a, b) => copy[b] != copy[a] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        }
        else candidates = [];

        if (candidates.Length == 0)
        {
            // Every token is a candidate: sample without sorting.
            var weights = Softmax(logits, temperature, null);
            return Draw(weights, null, random);
        }
        var probs = Softmax(logits, temperature, candidates);
        var keep = probs.Length;
        if (topP < 1)
        {
            double cumulative = 0;
            for (var i = 0; i < probs.Length; i++)
            {
                cumulative += probs[i];
                if (cumulative >= topP) { keep = i + 1; break; }
            }
        }
        return Draw(probs.AsSpan(0, keep), candidates, random);
    }

    /// <summary>
    /// Draws <paramref name="count"/> tokens with replacement from softmax(<paramref name="logits"/>) at temperature 1 (no
    /// top-k or top-p), in draw order: the samples of random-sampling KD.
    /// </summary>
    public static int[] SampleMany(ReadOnlySpan<float> logits, int count, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var weights = Softmax(logits, 1.0, null);
        var drawn = new int[count];
        for (var i = 0; i < count; i++) drawn[i] = Draw(weights, null, random);
        return drawn;
    }

    private static double[] Softmax(ReadOnlySpan<float> logits, double temperature, int[]? subset)
    {
        var n = subset?.Length ?? logits.Length;
        var result = new double[n];
        var max = double.NegativeInfinity;
        for (var i = 0; i < n; i++) max = Math.Max(max, logits[subset?[i] ?? i] / temperature);
        double sum = 0;
        for (var i = 0; i < n; i++) sum += result[i] = Math.Exp(logits[subset?[i] ?? i] / temperature - max);
        for (var i = 0; i < n; i++) result[i] /= sum;
        return result;
    }

    private static int Draw(ReadOnlySpan<double> weights, IReadOnlyList<int>? ids, Random random)
    {
        double total = 0;
        foreach (var w in weights) total += w;
        var coin = random.NextDouble() * total;
        double cumulative = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            cumulative += weights[i];
            if (coin < cumulative) return ids?[i] ?? i;
        }
        return ids?[weights.Length - 1] ?? weights.Length - 1; // rounding left the coin past the last weight
    }
}
