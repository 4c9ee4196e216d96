using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Training.Trainer;

/// <summary>
/// The training loop shared by every mode: AdamW with warm-up + cosine schedule, gradient clipping and accumulation,
/// held-out evaluation and early stopping, atomic checkpoints with exact resume (weights, optimiser moments, schedule
/// position, torch RNG, data position), metrics.jsonl and a loss-curve PNG. Cancellation saves a checkpoint and throws
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
    /// Trains to <see cref="TrainerOptions.MaxSteps"/> (or early stopping), continuing from the latest checkpoint when
    /// <see cref="TrainerOptions.Resume"/> is set. On cancellation writes a checkpoint of the last completed step and
    /// throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(options.OutputDirectory);
        using var optimizer = CreateOptimizer();

        var state = new TrainerState { MaxSteps = options.MaxSteps, GradientAccumulation = options.GradientAccumulation };
        Dictionary<string, Tensor>? best = null;
        int? resumedFrom = null;
        var latest = options.Resume ? CheckpointStore.FindLatest(options.OutputDirectory) : null;
        if (latest is not null)
        {
            state = CheckpointStore.ReadState(latest);
            if (state.GradientAccumulation != options.GradientAccumulation)
                throw InputException.InFile(latest, $"was written with gradient accumulation {state.GradientAccumulation}, not {options.GradientAccumulation}; use the same setting to resume, or a fresh output folder");
            CheckpointStore.Load(latest, model, optimizer);
            best = CheckpointStore.ReadBest(latest, model);
            using (var rng = tensor(Convert.FromBase64String(state.RngState), dtype: ScalarType.Byte)) set_rng_state(rng);
            resumedFrom = state.Step;
        }
        else
        {
            manual_seed(options.Seed);
        }

        var metrics = new MetricsLog(options.OutputDirectory, state.Step);
        var clock = Stopwatch.StartNew();
        long positionsThisProcess = 0;
        var startStep = state.Step;
        string checkpoint = latest ?? "";
        var stoppedEarly = state.StoppedEarly;
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();

        try
        {
            while (state.Step < options.MaxSteps && !stoppedEarly)
            {
                using var scope = NewDisposeScope();
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
                var normaliser = batches.Sum(b => b.Count);
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
                    var loss = objective.Loss(batch, normaliser);
                    loss.backward();
                    stepLoss += loss.item<float>();
                }
                if (!double.IsFinite(stepLoss))
                    throw new DistilleryException($"training loss became {stepLoss} at step {state.Step + 1}; lower the learning rate (now {lr:G3}) or check the data");

                var gradNorm = ClipGradients(parameters);
                optimizer.step();

                positionsThisProcess += normaliser;
                state = state with
                {
                    Step = state.Step + 1,
                    MicroBatchCursor = state.MicroBatchCursor + options.GradientAccumulation,
                    LastLoss = stepLoss,
                };
                metrics.Append(new MetricsRecord
                {
                    Step = state.Step, Loss = stepLoss, LearningRate = lr, GradNorm = gradNorm, Positions = normaliser,
                    Epoch = (double)state.MicroBatchCursor / train.BatchesPerEpoch, ElapsedSeconds = clock.Elapsed.TotalSeconds,
                });

                double? evalLoss = null;
                if (options.EvalEvery > 0 && (state.Step % options.EvalEvery == 0 || state.Step == options.MaxSteps))
                {
                    evalLoss = Evaluate();
                    metrics.Append(new MetricsRecord { Step = state.Step, EvalLoss = evalLoss, ElapsedSeconds = clock.Elapsed.TotalSeconds });
                    if (state.BestEvalLoss is not { } bestSoFar || evalLoss < bestSoFar - options.EarlyStoppingMinDelta)
                    {
                        state = state with { BestEvalLoss = evalLoss, BestEvalStep = state.Step, EvalsWithoutImprovement = 0 };
                        if (options.RestoreBestWeights) best = Snapshot(best);
                    }
                    else
                    {
                        state = state with { EvalsWithoutImprovement = state.EvalsWithoutImprovement + 1 };
                        if (options.EarlyStoppingPatience is { } patience && state.EvalsWithoutImprovement >= patience)
                            state = state with { StoppedEarly = stoppedEarly = true };
                    }
                }

                var done = state.Step >= options.MaxSteps || stoppedEarly;
                if (done || (options.CheckpointEvery > 0 && state.Step % options.CheckpointEvery == 0))
                    checkpoint = SaveCheckpoint(optimizer, state, best);

                var elapsed = clock.Elapsed;
                var stepsHere = state.Step - startStep;
                TimeSpan? eta = stepsHere > 0 ? elapsed / stepsHere * (options.MaxSteps - state.Step) : null;
                progress?.Report(new TrainingProgress(state.Step, options.MaxSteps, stepLoss, lr,
                    positionsThisProcess / Math.Max(elapsed.TotalSeconds, 1e-9), elapsed, eta, evalLoss ?? state.BestEvalLoss));
            }
        }
        catch (OperationCanceledException)
        {
            // The step in flight never reached optimizer.step(): the weights, moments and cursor are those of the last completed step.
            SaveCheckpoint(optimizer, state, best);
            WritePlot(metrics);
            throw;
        }
        finally
        {
            model.train();
        }

        if (options.RestoreBestWeights && best is not null)
        {
            using var _ = no_grad();
            var current = model.state_dict();
            foreach (var (name, tensor) in best) current[name].copy_(tensor);
        }
        if (checkpoint.Length == 0) checkpoint = SaveCheckpoint(optimizer, state, best);
        WritePlot(metrics);
        return new TrainingResult(state.Step, state.LastLoss, state.BestEvalLoss, state.BestEvalStep, state.StoppedEarly, resumedFrom, checkpoint);
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
            long total = 0;
            for (var i = 0; i < eval.BatchesPerEpoch; i++) total += eval.GetBatch(0, i).Count;
            var sum = 0.0;
            for (var i = 0; i < eval.BatchesPerEpoch; i++)
            {
                using var batchScope = NewDisposeScope();
                sum += objective.Loss(eval.GetBatch(0, i), total).item<float>();
            }
            return sum;
        }
        finally
        {
            model.train();
        }
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

    private string SaveCheckpoint(OptimizerHelper optimizer, TrainerState state, IReadOnlyDictionary<string, Tensor>? best)
    {
        using var rng = get_rng_state();
        var withRng = state with { RngState = Convert.ToBase64String(rng.data<byte>().ToArray()) };
        return CheckpointStore.Save(options.OutputDirectory, model, optimizer, withRng, best, options.KeepCheckpoints);
    }

    private void WritePlot(MetricsLog metrics)
    {
        if (options.WritePlot) LossCurvePlot.Write(metrics.Records, Path.Combine(options.OutputDirectory, "loss_curves.png"));
    }
}
