using System;
using Distillery.Training.Trainer;

namespace Distillery.Training.Tests.Trainer;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void WarmsUpLinearlyThenDecaysByCosineToTheFloor()
    {
        const double peak = 1e-3, floor = 1e-4;
        Assert.Equal(peak / 4, LearningRateSchedule.WarmupCosine(0, 104, 4, peak, floor), 15);
        Assert.Equal(peak / 2, LearningRateSchedule.WarmupCosine(1, 104, 4, peak, floor), 15);
        Assert.Equal(peak, LearningRateSchedule.WarmupCosine(3, 104, 4, peak, floor), 15);
        Assert.Equal(peak, LearningRateSchedule.WarmupCosine(4, 104, 4, peak, floor), 15);
        // Half-way through the decay the cosine is at the midpoint.
        Assert.Equal((peak + floor) / 2, LearningRateSchedule.WarmupCosine(54, 104, 4, peak, floor), 15);
        Assert.Equal(floor, LearningRateSchedule.WarmupCosine(104, 104, 4, peak, floor), 15);
        Assert.Equal(floor, LearningRateSchedule.WarmupCosine(500, 104, 4, peak, floor), 15);
        var previous = double.MaxValue;
        for (var step = 4; step < 104; step++)
        {
            var lr = LearningRateSchedule.WarmupCosine(step, 104, 4, peak, floor);
            Assert.True(lr <= previous && lr > floor);
            previous = lr;
        }
    }

    [Fact]
    public void WithoutWarmupStartsAtThePeak()
    {
        Assert.Equal(0.5, LearningRateSchedule.WarmupCosine(0, 10, 0, 0.5), 15);
        Assert.Equal(0.5 * 0.5 * (1 + Math.Cos(Math.PI * 0.3)), LearningRateSchedule.WarmupCosine(3, 10, 0, 0.5), 15);
    }

    [Fact]
    public void RejectsAFloorAboveThePeak() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.WarmupCosine(0, 10, 0, 0.1, 0.2));
}
