using Distillery.Models.Llama;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// What the trainer optimises and checkpoints in a language-model run: the student and, for hidden-state matching, the
/// learned projection from its width to the teacher's, so both are trained, saved and restored together.
/// </summary>
public sealed class DistillationStudent : nn.Module
{
    /// <summary>Wraps a student, with a projection to the teacher's width when hidden states are matched.</summary>
    public DistillationStudent(LlamaForCausalLM student, HiddenStateProjection? projection = null) : base(nameof(DistillationStudent))
    {
        System.ArgumentNullException.ThrowIfNull(student);
        register_module("student", student);
        if (projection is not null) register_module("projection", projection);
    }

    // No fields or auto-properties of module type: TorchSharp registers those by reflection a second time (under their
    // backing-field names), which makes the checkpoint's entry count depend on when registration happened.

    /// <summary>The language model being trained.</summary>
    public LlamaForCausalLM Student => (LlamaForCausalLM)Child("student")!;

    /// <summary>Student width → teacher width, or null without hidden-state matching.</summary>
    public HiddenStateProjection? Projection => (HiddenStateProjection?)Child("projection");

    /// <summary>
    /// Runs one token through the student without gradients. LlamaForCausalLM's state_dict changes its entry count after the
    /// first forward pass (TorchSharp's lazy registration of its property-backed submodules and rotary tables), and a
    /// checkpoint written after training must load into a model that has not yet run: settle it first, in every process.
    /// </summary>
    public void Settle()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Student.Forward(zeros(1, 1, dtype: ScalarType.Int64, device: Student.OutputWeight.device));
    }

    private nn.Module? Child(string name)
    {
        foreach (var (childName, module) in named_children())
            if (childName == name) return module;
        return null;
    }
}
