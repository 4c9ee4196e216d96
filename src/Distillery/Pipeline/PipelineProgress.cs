namespace Distillery.Pipeline;

/// <summary>Where a pipeline step stands: a one-line description and, where the step counts its work, how much of it is done.</summary>
/// <param name="Stage">The step reporting.</param>
/// <param name="Message">What it is doing, in one line of plain text.</param>
/// <param name="Completed">Units done (rows, optimiser steps); 0 where the step does not count.</param>
/// <param name="Total">Units in all; 0 where the step does not count.</param>
public sealed record PipelineProgress(PipelineStage Stage, string Message, long Completed = 0, long Total = 0);
