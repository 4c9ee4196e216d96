using System;
using System.IO;
using System.Linq;
using Distillery.Core.Errors;

namespace Distillery.Core.Datasets;

/// <summary>Labelled greyscale images read from an IDX image file and its IDX label file (MNIST, Fashion-MNIST).</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height in pixels.</param>
/// <param name="Columns">Image width in pixels.</param>
/// <param name="Pixels">Count × Rows × Columns bytes, image after image, row-major.</param>
/// <param name="Labels">Count labels.</param>
/// <param name="Source">Where the images came from, for reports.</param>
public sealed record IdxImageSet(int Count, int Rows, int Columns, byte[] Pixels, byte[] Labels, string Source)
{
    /// <summary>Reads an image file and a label file and checks that they describe the same number of examples.</summary>
    public static IdxImageSet Load(string imagesPath, string labelsPath)
    {
        var images = IdxReader.Read(imagesPath, expectedDimensions: 3);
        var labels = IdxReader.Read(labelsPath, expectedDimensions: 1);
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw InputException.InFile(labelsPath, $"holds {labels.Dimensions[0]:N0} labels but {Path.GetFileName(imagesPath)} holds {images.Dimensions[0]:N0} images; use the label file that belongs to these images");
        if (images.Dimensions[0] == 0) throw InputException.InFile(imagesPath, "holds no images");
        if (images.Dimensions[1] == 0 || images.Dimensions[2] == 0)
            throw InputException.InFile(imagesPath, $"holds images of {images.Dimensions[1]}×{images.Dimensions[2]} pixels; an image needs at least one");
        return new IdxImageSet(images.Dimensions[0], images.Dimensions[1], images.Dimensions[2], images.Data, labels.Data, imagesPath);
    }

    /// <summary>Number of distinct classes (the largest label plus one).</summary>
    public int Classes => Labels.Length == 0 ? 0 : Labels.Max() + 1;

    /// <summary>
    /// <paramref name="count"/> examples spread evenly over the set (every Count/count-th), or the whole set where
    /// <paramref name="count"/> is null or not smaller. Evenly spaced rather than the first ones, because some files
    /// (the shared MNIST training slice) are grouped by class.
    /// </summary>
    public IdxImageSet Subset(int? count)
    {
        if (count is not { } n || n >= Count) return this;
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var size = Rows * Columns;
        var pixels = new byte[n * size];
        var labels = new byte[n];
        for (var i = 0; i < n; i++)
        {
            var from = (int)((long)i * Count / n);
            Array.Copy(Pixels, from * size, pixels, i * size, size);
            labels[i] = Labels[from];
        }
        return this with { Count = n, Pixels = pixels, Labels = labels };
    }
}

/// <summary>A folder of IDX files in the MNIST naming: <c>train[10k]-images-idx3-ubyte[.gz]</c>, <c>t10k-labels-idx1-ubyte[.gz]</c> and so on.</summary>
public static class IdxImageFolder
{
    /// <summary>Loads the training and test splits from <paramref name="folder"/>, with one-line errors for missing files.</summary>
    public static (IdxImageSet Train, IdxImageSet Test) Load(string folder)
    {
        if (!Directory.Exists(folder)) throw InputException.InFile(folder, "folder not found");
        var train = IdxImageSet.Load(Find(folder, ["train", "train10k", "train60k"], "images", 3), Find(folder, ["train", "train10k", "train60k"], "labels", 1));
        var test = IdxImageSet.Load(Find(folder, ["t10k", "test"], "images", 3), Find(folder, ["t10k", "test"], "labels", 1));
        // A model trained on one image size and class set cannot be tested on another: say so before any training.
        if ((test.Rows, test.Columns) != (train.Rows, train.Columns))
            throw InputException.InFile(test.Source, $"holds {test.Rows}×{test.Columns} images but the training images ({Path.GetFileName(train.Source)}) are {train.Rows}×{train.Columns}; use test and training files of the same dataset");
        if (test.Classes > train.Classes)
            throw InputException.InFile(folder, $"the test labels go up to {test.Classes - 1} but the training labels only to {train.Classes - 1}; use test and training files of the same dataset");
        return (train, test);
    }

    private static string Find(string folder, string[] prefixes, string kind, int rank)
    {
        foreach (var prefix in prefixes)
        foreach (var suffix in new[] { "", ".gz" })
        {
            var path = Path.Combine(folder, $"{prefix}-{kind}-idx{rank}-ubyte{suffix}");
            if (File.Exists(path)) return path;
        }
        throw InputException.InFile(folder, $"has no {prefixes[0]}-{kind}-idx{rank}-ubyte[.gz] (also looked for {string.Join(", ", prefixes.Skip(1))} prefixes)");
    }
}
