using System;

namespace Distillery.Training.Classification;

/// <summary>
/// Settings of the Hinton et al. (2015, §3) reproduction: a 2×1200 dropout teacher trained on jittered inputs, a 2×800
/// baseline on hard labels, and a 2×800 student on the teacher's soft targets at temperature T plus a weighted hard term.
/// </summary>
public sealed record ClassicKdOptions
{
    /// <summary>Folder for the three runs (teacher/, baseline/, student/), each resumable.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Epochs for the teacher.</summary>
    public int TeacherEpochs { get; init; } = 20;

    /// <summary>Epochs for the baseline and the distilled student.</summary>
    public int StudentEpochs { get; init; } = 20;

    /// <summary>Soft-target temperature T (the paper: 20).</summary>
    public double Temperature { get; init; } = 20;

    /// <summary>Weight α of the soft-target term; 1 − α goes to the hard labels (0.5 measured best on MNIST at T = 20, see bench/results/classic-kd.md).</summary>
    public double Alpha { get; init; } = 0.5;

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Peak AdamW learning rate of the teacher.</summary>
    public double TeacherLearningRate { get; init; } = 1e-3;

    /// <summary>Peak AdamW learning rate of the two students.</summary>
    public double StudentLearningRate { get; init; } = 1e-3;

    /// <summary>AdamW weight decay of the teacher (the students get none: the baseline is unregularised, as in the paper).</summary>
    public double TeacherWeightDecay { get; init; } = 0.0;

    /// <summary>Teacher dropout after each hidden layer.</summary>
    public double TeacherHiddenDropout { get; init; } = 0.5;

    /// <summary>Teacher dropout on the input pixels.</summary>
    public double TeacherInputDropout { get; init; } = 0.2;

    /// <summary>Largest random shift, in pixels, of the teacher's training images (the paper: 2).</summary>
    public int TeacherJitter { get; init; } = 2;

    /// <summary>Whether the teacher's training images are also mirrored left to right at random (for clothes; digits are not mirror-symmetric).</summary>
    public bool TeacherMirror { get; init; }

    /// <summary>Hidden widths of the teacher.</summary>
    public int TeacherWidth { get; init; } = 1200;

    /// <summary>Hidden widths of the baseline and the student.</summary>
    public int StudentWidth { get; init; } = 800;

    /// <summary>Seed for initialisation, shuffling, jitter and dropout.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Use only this many training examples, evenly spaced over the set (null: all).</summary>
    public int? TrainLimit { get; init; }

    /// <summary>Use only this many test examples, evenly spaced over the set (null: all).</summary>
    public int? TestLimit { get; init; }

    /// <summary>
    /// The settings measured on each dataset (bench/results/classic-kd.md). MNIST: the paper's teacher (dropout, ±2 px
    /// jitter) for 50 epochs, students for 100, since soft targets keep teaching long after the hard-label baseline has
    /// stopped improving (86% of the gap closed). Fashion-MNIST fills the whole frame, so a shifted image loses its edges:
    /// its teacher gets no jitter and no input dropout but hidden dropout 0.4 and weight decay 0.1 for 100 epochs (of 32
    /// recipes searched on a GPU, the one whose students closed the largest share of a clear gap), students 60 epochs (94%).
    /// </summary>
    public static ClassicKdOptions Recipe(ClassicDataset dataset, string outputDirectory) => dataset switch
    {
        ClassicDataset.Mnist => new ClassicKdOptions { OutputDirectory = outputDirectory, TeacherEpochs = 50, StudentEpochs = 100 },
        ClassicDataset.FashionMnist => new ClassicKdOptions
        {
            OutputDirectory = outputDirectory, TeacherEpochs = 100, StudentEpochs = 60, TeacherJitter = 0, TeacherInputDropout = 0,
            TeacherHiddenDropout = 0.4, TeacherWeightDecay = 0.1,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(dataset), dataset, "unknown dataset"),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new ArgumentException("OutputDirectory is required", nameof(OutputDirectory));
        if (TeacherEpochs < 1) throw new ArgumentOutOfRangeException(nameof(TeacherEpochs), TeacherEpochs, "must be at least 1");
        if (StudentEpochs < 1) throw new ArgumentOutOfRangeException(nameof(StudentEpochs), StudentEpochs, "must be at least 1");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be positive");
        if (Alpha is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "must lie in [0, 1]");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        if (TeacherJitter < 0) throw new ArgumentOutOfRangeException(nameof(TeacherJitter), TeacherJitter, "must not be negative");
    }
}
