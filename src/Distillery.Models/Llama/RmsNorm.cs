using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>Root-mean-square layer norm: <c>x / sqrt(mean(x²) + eps) · weight</c>, with one learned scale per channel.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double eps;

    /// <summary>The learned per-channel scale (HF name <c>weight</c>).</summary>
    public TorchSharp.Modules.Parameter Weight { get; }

    /// <summary>Creates the norm with its scale set to one.</summary>
    public RmsNorm(long size, double eps) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        Weight = new TorchSharp.Modules.Parameter(ones(size));
        register_parameter("weight", Weight);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => Normalize(x, Weight, eps);

    /// <summary>The pure kernel: normalises the last dimension of x and scales it by w.</summary>
    public static Tensor Normalize(Tensor x, Tensor w, double eps)
    {
        using var scope = NewDisposeScope();
        var ms = x.square().mean([-1], keepdim: true);
        return (x * (ms + eps).rsqrt() * w).MoveToOuterDisposeScope();
    }
}
