using System;

namespace Distillery.Training.Trainer;

/// <summary>One report from a running trainer, for a progress bar: where it is, how fast, and the latest losses.</summary>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="MaxSteps">Optimiser steps in the run.</param>
/// <param name="Loss">Training loss of the latest step.</param>
/// <param name="LearningRate">Learning rate used by the latest step.</param>
/// <param name="PositionsPerSecond">Unmasked positions (tokens or examples) per second since this process started training.</param>
/// <param name="Elapsed">Wall time since this process started training.</param>
/// <param name="Eta">Estimated time to finish, where known.</param>
/// <param name="EvalLoss">The latest held-out loss, where evaluated.</param>
public sealed record TrainingProgress(int Step, int MaxSteps, double Loss, double LearningRate, double PositionsPerSecond,
    TimeSpan Elapsed, TimeSpan? Eta, double? EvalLoss);

/// <summary>How a run ended.</summary>
/// <param name="Steps">Optimiser steps done in total (including before a resume).</param>
/// <param name="FinalLoss">Training loss of the last step.</param>
/// <param name="BestEvalLoss">Lowest held-out loss seen, where evaluated.</param>
/// <param name="BestEvalStep">Step of that evaluation.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run.</param>
/// <param name="ResumedFromStep">The resume-state step the run continued from, or null for a fresh run.</param>
/// <param name="ResumeStateDirectory">The final resume state.</param>
public sealed record TrainingResult(int Steps, double FinalLoss, double? BestEvalLoss, int? BestEvalStep, bool StoppedEarly,
    int? ResumedFromStep, string ResumeStateDirectory);
