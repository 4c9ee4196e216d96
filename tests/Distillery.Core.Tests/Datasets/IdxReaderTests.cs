using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Datasets;

public sealed class IdxReaderTests : IDisposable
{
    private readonly ScratchFolder scratch = new("idx-tests");

    private string dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private static byte[] Idx(byte type, int[] dims, byte[] data)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = type;
        header[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return [.. header, .. data];
    }

    private string Write(string name, byte[] bytes, bool gzip = false)
    {
        var path = Path.Combine(dir, name);
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return path;
        }
        using var file = File.Create(path);
        using var z = new GZipStream(file, CompressionLevel.Optimal);
        z.Write(bytes);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsImagesAndLabelsPlainOrGzipped(bool gzip)
    {
        var pixels = Enumerable.Range(0, 2 * 3 * 2).Select(i => (byte)i).ToArray();
        var images = Write("img", Idx(0x08, [2, 3, 2], pixels), gzip);
        var labels = Write("lab", Idx(0x08, [2], [7, 1]), gzip);
        var set = IdxImageSet.Load(images, labels);
        Assert.Equal((2, 3, 2), (set.Count, set.Rows, set.Columns));
        Assert.Equal(pixels, set.Pixels);
        Assert.Equal(new byte[] { 7, 1 }, set.Labels);
        Assert.Equal(8, set.Classes);
    }

    [Fact]
    public void WrongMagicIsOneLineNamingTheFile()
    {
        var path = Write("bad", [0x50, 0x4B, 0x03, 0x04, 0, 0, 0, 0]); // a zip header, not IDX
        var e = Assert.Throws<InputException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("magic number 0x504B0304", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UnsupportedTypeIsRefused()
    {
        var path = Write("float", Idx(0x0D, [1], [0, 0, 0, 0]));
        Assert.Contains("0x0D is not supported", Assert.Throws<InputException>(() => IdxReader.Read(path)).Message);
    }

    [Fact]
    public void TruncatedDataIsReported()
    {
        var full = Idx(0x08, [10, 28, 28], new byte[10 * 28 * 28]);
        var path = Write("short", full[..^100]);
        var e = Assert.Throws<InputException>(() => IdxReader.Read(path, 3));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("7,840 values", e.Message);
        Assert.Contains("7,740", e.Message);
    }

    [Fact]
    public void TruncatedHeaderIsReported()
    {
        var path = Write("header", Idx(0x08, [10, 28, 28], [])[..9]);
        Assert.Contains("truncated: the header needs 16 bytes", Assert.Throws<InputException>(() => IdxReader.Read(path)).Message);
    }

    [Fact]
    public void TruncatedGzipStreamIsReported()
    {
        var gz = Write("whole.gz", Idx(0x08, [100, 28, 28], Enumerable.Range(0, 78400).Select(i => (byte)(i * 31)).ToArray()), gzip: true);
        var bytes = File.ReadAllBytes(gz);
        var path = Write("cut.gz", bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InputException>(() => IdxReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void TrailingBytesAreReported()
    {
        var path = Write("long", [.. Idx(0x08, [2], [1, 2]), 9, 9]);
        Assert.Contains("2 bytes after the 2 values", Assert.Throws<InputException>(() => IdxReader.Read(path)).Message);
    }

    [Fact]
    public void ImageAndLabelCountsMustAgree()
    {
        var images = Write("img", Idx(0x08, [3, 2, 2], new byte[12]));
        var labels = Write("lab", Idx(0x08, [2], [0, 1]));
        var e = Assert.Throws<InputException>(() => IdxImageSet.Load(images, labels));
        Assert.Contains("holds 2 labels but img holds 3 images", e.Message);
    }

    [Fact]
    public void SwappedImageAndLabelFilesAreReported()
    {
        var images = Write("img", Idx(0x08, [3, 2, 2], new byte[12]));
        var labels = Write("lab", Idx(0x08, [3], [0, 1, 2]));
        Assert.Contains("swapped", Assert.Throws<InputException>(() => IdxImageSet.Load(labels, images)).Message);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public void ReadsTheRealMnistSplits()
    {
        var folder = SharedTestData.TryGet("mnist");
        Assert.True(folder is not null, "shared/data/mnist is required for this test");
        var (train, test) = IdxImageFolder.Load(folder!);
        Assert.Equal((10_000, 28, 28), (train.Count, train.Rows, train.Columns));
        Assert.Equal(10_000, test.Count);
        Assert.Equal(10, test.Classes);
        // Every digit appears, and ink is present: MNIST's mean pixel is about 33/255.
        Assert.Equal(10, test.Labels.Distinct().Count());
        var mean = test.Pixels.Average(b => (double)b);
        Assert.InRange(mean, 25, 40);
    }

    [Fact]
    public void SubsetSpreadsEvenlyOverAGroupedFile()
    {
        var set = new IdxImageSet(10, 1, 1, Enumerable.Range(0, 10).Select(i => (byte)i).ToArray(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "grouped");
        var half = set.Subset(4);
        Assert.Equal(new byte[] { 0, 2, 5, 7 }, half.Pixels);
        Assert.Equal(new byte[] { 0, 0, 1, 1 }, half.Labels);
        Assert.Same(set, set.Subset(null));
    }

    private void WriteSplit(string prefix, int count, int rows, int columns, byte maxLabel)
    {
        Write($"{prefix}-images-idx3-ubyte", Idx(0x08, [count, rows, columns], new byte[count * rows * columns]));
        Write($"{prefix}-labels-idx1-ubyte", Idx(0x08, [count], Enumerable.Range(0, count).Select(i => (byte)(i % (maxLabel + 1))).ToArray()));
    }

    [Fact]
    public void A_data_folder_whose_test_images_differ_in_size_from_the_training_images_is_one_input_error()
    {
        WriteSplit("train", 4, 28, 28, 9);
        WriteSplit("t10k", 2, 32, 32, 1);
        var e = Assert.Throws<InputException>(() => IdxImageFolder.Load(dir));
        Assert.Contains("t10k-images-idx3-ubyte", e.Message);
        Assert.Contains("32×32", e.Message);
        Assert.Contains("28×28", e.Message);
    }

    [Fact]
    public void A_data_folder_whose_test_labels_exceed_the_training_classes_is_one_input_error()
    {
        WriteSplit("train", 4, 2, 2, 1);
        WriteSplit("t10k", 4, 2, 2, 3);
        var e = Assert.Throws<InputException>(() => IdxImageFolder.Load(dir));
        Assert.Contains("test labels go up to 3", e.Message);
    }

    [Fact]
    public void Dimensions_whose_product_overflows_are_reported_as_truncation_not_wrapped()
    {
        // 65536^4 = 2^64 wraps a long to 0, which would match an empty body.
        var e = Assert.Throws<InputException>(() => IdxReader.Parse("x", Idx(0x08, [65536, 65536, 65536, 65536], [])));
        Assert.Contains("truncated", e.Message);
    }
}
