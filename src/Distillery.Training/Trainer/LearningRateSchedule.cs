using System;

namespace Distillery.Training.Trainer;

/// <summary>The learning-rate schedule: linear warm-up, then cosine decay to a floor. Pure functions of the step.</summary>
public static class LearningRateSchedule
{
    /// <summary>
    /// The learning rate for optimiser step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>:
    /// 1. during warm-up (step &lt; warmup) rise linearly: peak · (step + 1) / warmup;
    /// 2. after the last step, stay at the floor;
    /// 3. otherwise decay by a half cosine from peak to floor over the remaining steps.
    /// </summary>
    public static double WarmupCosine(long step, long totalSteps, long warmupSteps, double peak, double floor = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (floor > peak) throw new ArgumentOutOfRangeException(nameof(floor), floor, "the floor must not exceed the peak");
        // 1. linear warm-up
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        // 2. past the end
        var decaySteps = totalSteps - warmupSteps;
        if (step >= totalSteps || decaySteps <= 0) return floor;
        // 3. cosine decay from peak (first step after warm-up) towards the floor
        var progress = (double)(step - warmupSteps) / decaySteps;
        return floor + 0.5 * (peak - floor) * (1 + Math.Cos(Math.PI * progress));
    }
}
