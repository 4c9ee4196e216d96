using Distillery.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Runtime;

/// <summary>Proves libtorch really computes here: autograd, an optimiser, and a gradient against its closed form.</summary>
public sealed class NativeStackTests
{
    [Fact]
    public void Two_layer_mlp_learns_xor_to_full_accuracy()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(7);
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }).reshape(4, 2);
        var y = tensor(new long[] { 0, 1, 1, 0 });
        var model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2));
        var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        for (int step = 0; step < 300; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
        }
        using (no_grad())
        {
            var predicted = model.call(x).argmax(1);
            Assert.Equal(new long[] { 0, 1, 1, 0 }, predicted.data<long>().ToArray());
            Assert.True(nn.functional.cross_entropy(model.call(x), y).item<float>() < 0.05f);
        }
    }

    [Fact]
    public void Autograd_gradient_of_least_squares_matches_closed_form()
    {
        TorchRuntime.EnsureLoaded();
        manual_seed(11);
        using var scope = NewDisposeScope();
        // f(w) = ||X w - y||², so ∇f = 2 Xᵀ (X w - y).
        var X = randn(8, 3, dtype: ScalarType.Float64);
        var y = randn(8, dtype: ScalarType.Float64);
        var w = randn(3, dtype: ScalarType.Float64).requires_grad_();
        var loss = (X.matmul(w) - y).pow(2).sum();
        loss.backward();
        using var noGrad = no_grad();
        var expected = 2 * X.t().matmul(X.matmul(w) - y);
        var actual = w.grad!;
        Assert.True(allclose(actual, expected, rtol: 1e-12, atol: 1e-12), $"autograd {actual.str()} vs closed form {expected.str()}");
        Assert.True(expected.abs().sum().item<double>() > 1e-3); // not trivially zero
    }

    [Fact]
    public void Matmul_rate_is_measured_and_positive()
    {
        var gflops = MatmulBenchmark.MeasureGflops(n: 256, seconds: 0.2);
        Assert.InRange(gflops, 0.1, 1e6);
    }
}
