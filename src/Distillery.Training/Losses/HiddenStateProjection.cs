using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Training.Losses;

/// <summary>The learned linear map from student width to teacher width used by hidden-state matching.</summary>
public sealed class HiddenStateProjection : nn.Module<Tensor, Tensor>
{
    private readonly Linear proj;

    /// <summary>Creates a Ds → Dt linear projection with bias.</summary>
    public HiddenStateProjection(long studentWidth, long teacherWidth) : base(nameof(HiddenStateProjection))
    {
        proj = nn.Linear(studentWidth, teacherWidth);
        RegisterComponents();
    }

    /// <summary>Projects (…, Ds) to (…, Dt).</summary>
    public override Tensor forward(Tensor input) => proj.call(input);
}
