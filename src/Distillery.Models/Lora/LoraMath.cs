using static TorchSharp.torch;

namespace Distillery.Models.Lora;

/// <summary>LoRA's two formulas (Hu et al. 2021, eq. 3) as pure tensor functions.</summary>
public static class LoraMath
{
    /// <summary>The adapter's contribution to a linear's output: <c>scale · (x Aᵀ) Bᵀ</c>; x (…, in), A (r, in), B (out, r) → (…, out).</summary>
    public static Tensor Delta(Tensor x, Tensor a, Tensor b, double scale)
    {
        using var scope = NewDisposeScope();
        var low = nn.functional.linear(x, a);            // (…, r)
        return nn.functional.linear(low, b).mul(scale).MoveToOuterDisposeScope(); // (…, out)
    }

    /// <summary>The merged weight <c>W + scale · B A</c>: W (out, in), B (out, r), A (r, in) → (out, in).</summary>
    public static Tensor Merged(Tensor w, Tensor a, Tensor b, double scale)
    {
        using var scope = NewDisposeScope();
        return w.add(b.matmul(a), alpha: scale).MoveToOuterDisposeScope();
    }
}
