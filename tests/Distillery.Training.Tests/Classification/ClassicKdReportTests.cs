using System;
using Distillery.Training.Classification;

namespace Distillery.Training.Tests.Classification;

public sealed class ClassicKdReportTests
{
    private static ClassicKdReport Report(int teacherErrors, int baselineErrors, int distilledErrors) => new(
        new ClassicKdRow("teacher", "t", 1, teacherErrors, 10_000, 0),
        new ClassicKdRow("baseline", "b", 1, baselineErrors, 10_000, 0),
        new ClassicKdRow("distilled", "d", 1, distilledErrors, 10_000, 0),
        "train", 60_000, "test", 10_000, new ClassicKdOptions { OutputDirectory = "unused" }, TimeSpan.Zero);

    [Fact]
    public void GapClosedMatchesThePapersMnistFigures()
    {
        // Hinton et al. 2015, section 3: baseline 146 errors, distilled 74, teacher 67: (146 - 74) / (146 - 67) = 72 / 79.
        Assert.Equal(72.0 / 79.0, Report(67, 146, 74).GapClosed, precision: 12);
    }

    [Theory]
    [InlineData(100, 100, 90)]
    [InlineData(120, 100, 90)]
    public void GapClosedIsNaNWhenTheTeacherIsNotBetterThanTheBaseline(int teacher, int baseline, int distilled) =>
        Assert.True(double.IsNaN(Report(teacher, baseline, distilled).GapClosed));

    [Theory]
    [InlineData(50, 100, 100, 0.0)]
    [InlineData(50, 100, 50, 1.0)]
    [InlineData(50, 100, 110, -0.2)]
    public void GapClosedIsZeroAtTheBaselineOneAtTheTeacherAndNegativeBelowTheBaseline(int teacher, int baseline, int distilled, double expected) =>
        Assert.Equal(expected, Report(teacher, baseline, distilled).GapClosed, precision: 12);
}
