using System;
using System.IO;
using Distillery.Core.Errors;

namespace Distillery.Training.Classification;

/// <summary>The image datasets the classic-KD demo knows, and where their IDX files are found.</summary>
public enum ClassicDataset
{
    /// <summary>MNIST digits: shared/data/mnist (10,000 training and 10,000 test images).</summary>
    Mnist,

    /// <summary>Fashion-MNIST: the Debian package <c>dataset-fashion-mnist</c> (60,000 + 10,000 images).</summary>
    FashionMnist,
}

/// <summary>Finds the IDX folder of a <see cref="ClassicDataset"/>.</summary>
public static class ClassicDatasets
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> installs its files.</summary>
    public const string FashionMnistDebianFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Parses the command-line name (<c>mnist</c>, <c>fashion-mnist</c>); a one-line error names the field otherwise.</summary>
    public static ClassicDataset Parse(string name, string field = "--dataset") => name.Trim().ToLowerInvariant() switch
    {
        "mnist" => ClassicDataset.Mnist,
        "fashion-mnist" or "fashion_mnist" or "fashionmnist" => ClassicDataset.FashionMnist,
        _ => throw InputException.InField(field, $"'{name}' is not a known dataset; use mnist or fashion-mnist"),
    };

    /// <summary>The command-line name of a dataset.</summary>
    public static string Name(ClassicDataset dataset) => dataset == ClassicDataset.Mnist ? "mnist" : "fashion-mnist";

    /// <summary>
    /// The folder holding the dataset's IDX files: <paramref name="dataDirectory"/> when given, else the default place
    /// (<paramref name="mnistDefault"/> for MNIST, Debian's package folder for Fashion-MNIST).
    /// </summary>
    public static string Locate(ClassicDataset dataset, string? dataDirectory = null, string? mnistDefault = null)
    {
        if (!string.IsNullOrEmpty(dataDirectory))
            return Directory.Exists(dataDirectory) ? dataDirectory : throw InputException.InField("--data-dir", $"folder '{dataDirectory}' not found");
        return dataset switch
        {
            ClassicDataset.Mnist => mnistDefault is not null && Directory.Exists(mnistDefault) ? mnistDefault
                : throw InputException.InField("--dataset", "MNIST not found in shared/data/mnist; pass --data-dir with a folder of MNIST IDX files (train-images-idx3-ubyte.gz, …)"),
            ClassicDataset.FashionMnist => Directory.Exists(FashionMnistDebianFolder) ? FashionMnistDebianFolder
                : throw InputException.InField("--dataset", $"Fashion-MNIST not found in {FashionMnistDebianFolder}; install it with 'apt-get install dataset-fashion-mnist' or pass --data-dir"),
            _ => throw new ArgumentOutOfRangeException(nameof(dataset), dataset, "unknown dataset"),
        };
    }
}
