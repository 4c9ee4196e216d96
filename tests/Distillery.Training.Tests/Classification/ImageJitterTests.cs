using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Runtime;
using Distillery.Training.Classification;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Classification;

public sealed class ImageJitterTests
{
    private const int Side = 6;

    /// <summary>Eight 6×6 images, each with one lit pixel at (2, 1) and a dimmer one at (3, 4).</summary>
    private static Tensor Images()
    {
        var x = zeros(8, Side * Side);
        x[.., 2 * Side + 1] = tensor(1f);
        x[.., 3 * Side + 4] = tensor(0.5f);
        return x;
    }

    private static List<(int Y, int X)> Lit(Tensor image, float value)
    {
        var pixels = image.data<float>().ToArray();
        return [.. Enumerable.Range(0, Side * Side).Where(i => pixels[i] == value).Select(i => (i / Side, i % Side))];
    }

    [Fact]
    public void ShiftsMoveEveryPixelTogetherByAtMostTheLimitAndTheSameBatchComesBackOnResume()
    {
        TorchRuntime.EnsureLoaded();
        var source = new ClassificationBatchSource(Images(), zeros(8, dtype: ScalarType.Int64), null, 8, seed: 5, jitter: new ImageJitter(Side, 1));
        var batch = source.GetBatch(0, 0).Inputs;
        var shifts = new HashSet<(int, int)>();
        for (var i = 0; i < 8; i++)
        {
            var bright = Assert.Single(Lit(batch[i], 1f));
            var dim = Assert.Single(Lit(batch[i], 0.5f));
            var (dy, dx) = (bright.Y - 2, bright.X - 1);
            Assert.InRange(dy, -1, 1);
            Assert.InRange(dx, -1, 1);
            Assert.Equal((3 + dy, 4 + dx), dim); // a translation, not a distortion
            shifts.Add((dy, dx));
        }
        Assert.True(shifts.Count > 1, "every image got the same shift");
        Assert.True(source.GetBatch(0, 0).Inputs.eq(batch).all().item<bool>());
        Assert.False(source.GetBatch(1, 0).Inputs.eq(batch).all().item<bool>());
    }

    [Fact]
    public void MirroringFlipsColumnsOfAboutHalfTheImages()
    {
        TorchRuntime.EnsureLoaded();
        var source = new ClassificationBatchSource(Images(), zeros(8, dtype: ScalarType.Int64), null, 8, seed: 2, jitter: new ImageJitter(Side, 0, Mirror: true));
        var batch = source.GetBatch(0, 0).Inputs;
        var mirrored = 0;
        for (var i = 0; i < 8; i++)
        {
            var bright = Assert.Single(Lit(batch[i], 1f));
            if (bright == (2, Side - 1 - 1))
            {
                mirrored++;
                Assert.Equal((3, Side - 1 - 4), Assert.Single(Lit(batch[i], 0.5f)));
            }
            else
            {
                Assert.Equal((2, 1), bright);
            }
        }
        Assert.InRange(mirrored, 1, 7);
    }
}
