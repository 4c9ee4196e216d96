using System.Collections.Generic;
using Distillery.Core.Provenance;
using Distillery.Training.Trainer;

namespace Distillery.Training.Language;

/// <summary>How a language-model distillation run ended and what it wrote.</summary>
/// <param name="Result">The trainer's outcome (steps, losses, last checkpoint).</param>
/// <param name="ModelDirectory">The student model folder (loadable as <c>checkpoint:DIR</c>).</param>
/// <param name="StudentParameters">The student's parameter count.</param>
/// <param name="TrainExamples">Rows trained on.</param>
/// <param name="EvalExamples">Rows held out.</param>
/// <param name="TokensPerTeacher">Completion tokens trained on, per dataset teacher (<c>provider:model</c>).</param>
/// <param name="EvalCrossEntropy">Held-out cross-entropy on the teacher's text (nats per token), where rows were held out.</param>
/// <param name="EvalKlToTeacher">Held-out KL(teacher ‖ student) per token, where a local teacher and held-out rows exist.</param>
/// <param name="Lineage">What was written to distillery.json.</param>
public sealed record LmTrainingReport(TrainingResult Result, string ModelDirectory, long StudentParameters, int TrainExamples, int EvalExamples,
    IReadOnlyDictionary<string, long> TokensPerTeacher, double? EvalCrossEntropy, double? EvalKlToTeacher, Lineage Lineage);
