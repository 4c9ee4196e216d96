using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Llama;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>Held-out measures of a student: its cross-entropy on the teacher's text and its KL to a local teacher, per completion token.</summary>
public static class LmEvaluation
{
    /// <summary>Mean KL(teacher ‖ student) at temperature 1 over every completion token of the examples (nats per token).</summary>
    public static double KlToTeacher(LlamaForCausalLM student, LlamaForCausalLM teacher, IReadOnlyList<LmExample> examples, int batchSize = 8)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return Sum(student, examples, batchSize, (batch, logits, total) =>
            DistillationLosses.ForwardKl(logits, teacher.Forward(batch.Inputs).Logits, batch.LossMask, total));
    }

    /// <summary>Mean cross-entropy of the student on the examples' completion tokens (nats per token).</summary>
    public static double CrossEntropy(LlamaForCausalLM student, IReadOnlyList<LmExample> examples, int batchSize = 8) =>
        Sum(student, examples, batchSize, (batch, logits, total) => DistillationLosses.CrossEntropy(logits, batch.Targets, batch.LossMask, total));

    private static double Sum(LlamaForCausalLM student, IReadOnlyList<LmExample> examples, int batchSize, Func<LmBatch, Tensor, double, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var total = (double)examples.Sum(e => (long)e.CompletionLength);
        if (total == 0) return 0;
        var wasTraining = student.training;
        student.eval();
        try
        {
            using var _ = no_grad();
            var sum = 0.0;
            var device = student.OutputWeight.device;
            for (var start = 0; start < examples.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = LmBatch.Collate(examples.Skip(start).Take(batchSize).ToList(), device: device);
                sum += loss(batch, student.Forward(batch.Inputs).Logits, total).item<float>();
            }
            return sum;
        }
        finally
        {
            student.train(wasTraining);
        }
    }
}
