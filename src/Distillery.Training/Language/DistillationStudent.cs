using Distillery.Models.Llama;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language;

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
        Student = student;
        Projection = projection;
        register_module("student", student);
        if (projection is not null) register_module("projection", projection);
    }

    /// <summary>The language model being trained.</summary>
    public LlamaForCausalLM Student { get; }

    /// <summary>Student width → teacher width, or null without hidden-state matching.</summary>
    public HiddenStateProjection? Projection { get; }
}
