using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Metrics;
using Distillery.Core.Telemetry;
using Distillery.Models.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Training.Trainer;

/// <summary>
/// The training loop shared by every mode: AdamW with warm-up + cosine schedule, gradient clipping and accumulation,
/// held-out evaluation and early stopping, atomic resume states with exact resume (weights, optimiser moments, schedule
/// position, torch RNG, data position) and metrics.jsonl (plots are drawn from it by Evaluation). Cancellation saves a resume state and throws
/// <see cref="OperationCanceledException"/>. Generic over the micro-batch type so classifiers and language models share it.
/// Randomness inside the objective (dropout) draws on libtorch's process-wide generator, which the trainer seeds, saves and
/// restores: run one trainer at a time per process.
/// </summary>
public sealed class Trainer<TBatch> where TBatch : ITrainingBatch
{
    private readonly nn.Module model;
    private readonly ITrainingObjective<TBatch> objective;
    private readonly IBatchSource<TBatch> train;
    private readonly IBatchSource<TBatch>? eval;
    private readonly TrainerOptions options;

    /// <summary>Creates a trainer for <paramref name="model"/> (whose parameters are optimised), minimising <paramref name="objective"/>.</summary>
    /// <param name="model">The module whose parameters are trained and checkpointed (include any projection heads in it).</param>
    /// <param name="objective">The micro-batch loss.</param>
    /// <param name="train">Training micro-batches.</param>
    /// <param name="eval">Held-out micro-batches, or null for no evaluation.</param>
    /// <param name="options">The run's settings.</param>
    public Trainer(nn.Module model, ITrainingObjective<TBatch> objective, IBatchSource<TBatch> train, IBatchSource<TBatch>? eval, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (train.BatchesPerEpoch < 1) throw new ArgumentException("the training source has no batches", nameof(train));
        if (options.EvalEvery > 0 && eval is null) throw new ArgumentException("EvalEvery is set but there is no held-out source", nameof(eval));
        this.model = model;
        this.objective = objective;
        this.train = train;
        this.eval = eval;
        this.options = options;
    }

    /// <summary>Runs on a worker thread; see <see cref="Run"/>.</summary>
    public Task<TrainingResult> RunAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(progress, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Trains to <see cref="TrainerOptions.MaxSteps"/> (or early stopping), continuing from the latest resume state when
    /// <see cref="TrainerOptions.Resume"/> is set. On cancellation writes a resume state of the last completed step and
    /// throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(options.OutputDirectory);
        using var optimizer = CreateOptimizer();
        var run = Resume(optimizer);
        var resumedFrom = run.ResumeState.Length > 0 ? run.State.Step : (int?)null;
        var metrics = new MetricsLog(options.OutputDirectory, run.State.Step);
        var clock = Stopwatch.StartNew();
        long positionsThisProcess = 0;
        var startStep = run.State.Step;
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();

        try
        {
            if (options.EvaluateAtStart && eval is not null && run.State.Step == 0)
            {
                var startLoss = EvaluateAndKeepBest(run);
                metrics.Append(new MetricsRecord { Step = 0, EvalLoss = startLoss, ElapsedSeconds = clock.Elapsed.TotalSeconds });
            }
            while (run.State.Step < options.MaxSteps && !run.State.StoppedEarly)
            {
                using var scope = NewDisposeScope();
                var stepStarted = Stopwatch.GetTimestamp();
                using var span = DistilleryTelemetry.Source.StartActivity("train step");
                var step = Step(optimizer, parameters, run.State, cancellationToken);
                StepTelemetry.Record(span, run.State.Step + 1, step.Loss, step.LearningRate, Stopwatch.GetElapsedTime(stepStarted));
                positionsThisProcess += step.Positions;
                run.State = run.State with
                {
                    Step = run.State.Step + 1,
                    MicroBatchCursor = run.State.MicroBatchCursor + options.GradientAccumulation,
                    LastLoss = step.Loss,
                };
                metrics.Append(new MetricsRecord
                {
                    Step = run.State.Step, Loss = step.Loss, LearningRate = step.LearningRate, GradNorm = step.GradNorm, Positions = step.Positions, TeacherTokens = step.TeacherTokens,
                    Epoch = (double)run.State.MicroBatchCursor / train.BatchesPerEpoch, ElapsedSeconds = clock.Elapsed.TotalSeconds,
                });

                double? evalLoss = null;
                if (options.EvalEvery > 0 && (run.State.Step % options.EvalEvery == 0 || run.State.Step == options.MaxSteps))
                {
                    evalLoss = EvaluateAndKeepBest(run);
                    metrics.Append(new MetricsRecord { Step = run.State.Step, EvalLoss = evalLoss, ElapsedSeconds = clock.Elapsed.TotalSeconds });
                }

                var done = run.State.Step >= options.MaxSteps || run.State.StoppedEarly;
                if (done || (options.CheckpointEvery > 0 && run.State.Step % options.CheckpointEvery == 0))
                    run.ResumeState = SaveResumeState(optimizer, run.State, run.Best);

                var elapsed = clock.Elapsed;
                var stepsHere = run.State.Step - startStep;
                TimeSpan? eta = stepsHere > 0 ? elapsed / stepsHere * (options.MaxSteps - run.State.Step) : null;
                progress?.Report(new TrainingProgress(run.State.Step, options.MaxSteps, step.Loss, step.LearningRate,
                    positionsThisProcess / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed, eta, evalLoss ?? run.State.BestEvalLoss));
            }
        }
        catch (OperationCanceledException)
        {
            // The step in flight never reached optimizer.step(): the weights, moments and cursor are those of the last completed step.
            SaveResumeState(optimizer, run.State, run.Best);
            throw;
        }
        finally
        {
            model.train();
        }

        if (options.RestoreBestWeights && run.Best is not null)
        {
            using var _ = no_grad();
            var current = model.state_dict();
            foreach (var (name, tensor) in run.Best) current[name].copy_(tensor);
        }
        if (run.ResumeState.Length == 0) run.ResumeState = SaveResumeState(optimizer, run.State, run.Best);
        return new TrainingResult(run.State.Step, run.State.LastLoss, run.State.BestEvalLoss, run.State.BestEvalStep, run.State.StoppedEarly, resumedFrom, run.ResumeState);
    }

    /// <summary>The objective's loss over the whole held-out source, normalised by all its positions, in eval mode and without gradients.</summary>
    public double Evaluate()
    {
        if (eval is null) throw new InvalidOperationException("no held-out source was given");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        try
        {
            var batches = Enumerable.Range(0, eval.BatchesPerEpoch).Select(i => eval.GetBatch(0, i)).ToList();
            long total = batches.Sum(b => (long)b.Count);
            var sum = 0.0;
            foreach (var batch in batches)
            {
                using var batchScope = NewDisposeScope();
                sum += objective.Loss(batch, total).item<float>();
            }
            return sum;
        }
        finally
        {
            model.train();
        }
    }

    /// <summary>Phase 1: a fresh, seeded start, or the latest resume state (weights, optimiser, RNG, best weights) when resuming.</summary>
    private RunState Resume(OptimizerHelper optimizer)
    {
        var latest = options.Resume ? ResumeStateStore.FindLatest(options.OutputDirectory) : null;
        if (latest is null)
        {
            manual_seed(options.Seed);
            return new RunState { State = new TrainerState { MaxSteps = options.MaxSteps, GradientAccumulation = options.GradientAccumulation } };
        }
        var state = ResumeStateStore.ReadState(latest);
        if (state.GradientAccumulation != options.GradientAccumulation)
            throw InputException.InFile(latest, $"was written with gradient accumulation {state.GradientAccumulation}, not {options.GradientAccumulation}; use the same setting to resume, or a fresh output folder");
        ResumeStateStore.Load(latest, model, optimizer);
        var best = ResumeStateStore.ReadBest(latest, model);
        using (var rng = tensor(Convert.FromBase64String(state.RngState), dtype: ScalarType.Byte)) set_rng_state(rng);
        return new RunState { State = state, Best = best, ResumeState = latest };
    }

    /// <summary>Phase 2: one optimiser step over --gradient-accumulation micro-batches; cancellation before the update restores the RNG and throws.</summary>
    private StepOutcome Step(OptimizerHelper optimizer, IReadOnlyList<Parameter> parameters, TrainerState state, CancellationToken cancellationToken)
    {
        // The RNG as this step found it: a cancellation inside the step saves this, so the redo draws the same dropout.
        var rngAtStepStart = get_rng_state();
        if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);

        var lr = LearningRateSchedule.WarmupCosine(state.Step, options.MaxSteps, options.WarmupSteps, options.LearningRate, options.MinLearningRate);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

        model.train();
        var batches = new List<TBatch>(options.GradientAccumulation);
        for (var i = 0; i < options.GradientAccumulation; i++)
        {
            var cursor = state.MicroBatchCursor + i;
            batches.Add(train.GetBatch((int)(cursor / train.BatchesPerEpoch), (int)(cursor % train.BatchesPerEpoch)));
        }
        var normalizer = batches.Sum(b => b.Count);
        optimizer.zero_grad();
        var stepLoss = 0.0;
        foreach (var batch in batches)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                set_rng_state(rngAtStepStart);
                throw new OperationCanceledException(cancellationToken);
            }
            using var micro = NewDisposeScope();
            var loss = objective.Loss(batch, normalizer);
            loss.backward();
            stepLoss += loss.item<float>();
        }
        if (!double.IsFinite(stepLoss))
            throw new DistilleryException($"training loss became {stepLoss} at step {state.Step + 1}; lower the learning rate (now {lr:G3}) or check the data");

        var gradNorm = ClipGradients(parameters);
        optimizer.step();
        var teacherTokens = objective is ITeacherTokenCount count ? count.TakeTeacherTokens() : normalizer;
        return new StepOutcome(stepLoss, lr, gradNorm, normalizer, teacherTokens);
    }

    /// <summary>Phase 3: the held-out loss; keeps the best weights and counts evaluations without improvement for early stopping.</summary>
    private double EvaluateAndKeepBest(RunState run)
    {
        var evalLoss = Evaluate();
        if (run.State.BestEvalLoss is not { } bestSoFar || evalLoss < bestSoFar - options.EarlyStoppingMinDelta)
        {
            run.State = run.State with { BestEvalLoss = evalLoss, BestEvalStep = run.State.Step, EvalsWithoutImprovement = 0 };
            if (options.RestoreBestWeights) run.Best = Snapshot(run.Best);
        }
        else
        {
            run.State = run.State with { EvalsWithoutImprovement = run.State.EvalsWithoutImprovement + 1 };
            if (options.EarlyStoppingPatience is { } patience && run.State.EvalsWithoutImprovement >= patience)
                run.State = run.State with { StoppedEarly = true };
        }
        return evalLoss;
    }

    private AdamW CreateOptimizer()
    {
        // Decoupled weight decay on matrices only: decaying biases and norm gains towards zero only hurts.
        var decayed = model.parameters().Where(p => p.requires_grad && p.dim() >= 2).ToList();
        var plain = model.parameters().Where(p => p.requires_grad && p.dim() < 2).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decayed, new AdamW.Options { weight_decay = options.WeightDecay }),
        };
        if (plain.Count > 0) groups.Add(new AdamW.ParamGroup(plain, new AdamW.Options { weight_decay = 0.0 }));
        return new AdamW(groups, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
    }

    private double ClipGradients(IReadOnlyList<Parameter> parameters)
    {
        if (options.ClipGradientNorm is { } max && max > 0) return nn.utils.clip_grad_norm_(parameters, max);
        using var scope = NewDisposeScope();
        var squares = 0.0;
        foreach (var p in parameters)
            if (p.grad is { } g) squares += g.square().sum().item<float>();
        return Math.Sqrt(squares);
    }

    private Dictionary<string, Tensor> Snapshot(Dictionary<string, Tensor>? previous)
    {
        if (previous is not null) foreach (var t in previous.Values) t.Dispose();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
    }

    private string SaveResumeState(OptimizerHelper optimizer, TrainerState state, IReadOnlyDictionary<string, Tensor>? best)
    {
        using var rng = get_rng_state();
        var withRng = state with { RngState = Convert.ToBase64String(rng.data<byte>().ToArray()) };
        return ResumeStateStore.Save(options.OutputDirectory, model, optimizer, withRng, best, options.KeepCheckpoints);
    }

    /// <summary>What a run carries between its phases: the resume state, the best weights so far and the last resume state written.</summary>
    private sealed class RunState
    {
        public required TrainerState State { get; set; }

        public Dictionary<string, Tensor>? Best { get; set; }

        public string ResumeState { get; set; } = "";
    }

    /// <summary>One optimiser step's loss, learning rate, gradient norm, number of positions and the teacher's tokens trained on.</summary>
    private readonly record struct StepOutcome(double Loss, double LearningRate, double GradNorm, long Positions, long TeacherTokens);
}
