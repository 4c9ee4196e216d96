using System;
using System.Diagnostics;
using static TorchSharp.torch;

namespace Distillery.Models.Runtime;

/// <summary>Measures this machine's fp32 matrix-multiply rate through libtorch, the yardstick for model FLOPs utilisation.</summary>
public static class MatmulBenchmark
{
    /// <summary>Best GFLOP/s of square n×n fp32 matmuls over repeated timed runs that fit in the given time.</summary>
    public static double MeasureGflops(int n = 1536, double seconds = 1.5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 16);
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var a = randn(n, n, dtype: ScalarType.Float32);
        var b = randn(n, n, dtype: ScalarType.Float32);
        a.matmul(b).Dispose(); // warm-up: thread pool and allocator
        double flops = 2.0 * n * n * n, best = 0;
        var total = Stopwatch.StartNew();
        do
        {
            var sw = Stopwatch.StartNew();
            using var c = a.matmul(b);
            best = Math.Max(best, flops / sw.Elapsed.TotalSeconds / 1e9);
        } while (total.Elapsed.TotalSeconds < seconds);
        return best;
    }
}
