using System;
using Distillery.Models.Runtime;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Losses;

internal static class LossTestHelpers
{
    static LossTestHelpers() => TorchRuntime.EnsureLoaded();

    public static Tensor Row(params double[] values) => tensor(values, dtype: ScalarType.Float64);

    public static Tensor LogOf(params double[] probabilities)
    {
        var logs = new double[probabilities.Length];
        for (var i = 0; i < logs.Length; i++) logs[i] = Math.Log(probabilities[i]);
        return Row(logs);
    }

    public static Tensor AllTrue(params long[] shape) => ones(shape, dtype: ScalarType.Bool);

    public static double Value(Tensor t) => t.to_type(ScalarType.Float64).item<double>();

    /// <summary>Largest |autograd − central difference| over every element of x, for a scalar function of float64 x.</summary>
    public static double MaxGradientError(Tensor x, Func<Tensor, Tensor> f, double eps = 1e-6)
    {
        using var scope = NewDisposeScope();
        var leaf = x.detach().clone().requires_grad_(true);
        f(leaf).backward();
        var analytic = leaf.grad!.detach().clone().flatten();
        var flat = x.detach().clone().flatten();
        var worst = 0.0;
        for (long i = 0; i < flat.shape[0]; i++)
        {
            var plus = flat.clone(); plus[i] = plus[i] + eps;
            var minus = flat.clone(); minus[i] = minus[i] - eps;
            using var _ = no_grad();
            var numeric = (Value(f(plus.reshape(x.shape))) - Value(f(minus.reshape(x.shape)))) / (2 * eps);
            worst = Math.Max(worst, Math.Abs(numeric - analytic[i].item<double>()));
        }
        return worst;
    }

    public static void EnsureTorch() => TorchRuntime.EnsureLoaded();
}
