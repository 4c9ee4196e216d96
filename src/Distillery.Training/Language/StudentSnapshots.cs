using System;
using System.Globalization;
using System.IO;
using Distillery.Models.Loading;
using Distillery.Training.Trainer;

namespace Distillery.Training.Language;

/// <summary>
/// Writes the student as a model folder every N steps, under <c>OUT/snapshots/step-00000100/</c>, so a run can be evaluated
/// along the way (<c>distill eval --model checkpoint:…</c>). It listens to the trainer's progress, which the trainer reports
/// on its own thread after each step, so the weights are that step's; each folder is written under a temporary name and
/// renamed into place, and a resumed run that redoes a step writes its snapshot again.
/// </summary>
internal sealed class StudentSnapshots(ModelBundle student, string outputDirectory, int every, IProgress<TrainingProgress>? inner) : IProgress<TrainingProgress>
{
    /// <summary>The folder under the output folder that holds the snapshots.</summary>
    public const string Folder = "snapshots";

    /// <summary>The snapshot folder of a step.</summary>
    public static string PathOf(string outputDirectory, int step) =>
        Path.Combine(outputDirectory, Folder, "step-" + step.ToString("D8", CultureInfo.InvariantCulture));

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Step % every == 0) Save(value.Step);
        inner?.Report(value);
    }

    private void Save(int step)
    {
        var final = PathOf(outputDirectory, step);
        var temp = $"{final}.tmp-{Guid.NewGuid():N}";
        try
        {
            // The trainer's thread is not a synchronisation context's; waiting here keeps the weights still while they are written.
            student.SaveAsync(temp).GetAwaiter().GetResult();
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }
}
