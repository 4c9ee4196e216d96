using System;
using System.Linq;
using Distillery.Models.Gguf;

namespace Distillery.Models.Tests.Gguf;

public sealed class Q8ZeroTests
{
    [Fact]
    public void A_block_of_multiples_of_its_step_round_trips_exactly_and_its_layout_is_ggmls()
    {
        // max |x| = 127 · 0.5, so the step d is 0.5 (exact in f16) and every multiple of it is stored exactly.
        var values = Enumerable.Range(0, 32).Select(i => (i - 16) * 0.5f).ToArray();
        values[31] = 63.5f;
        var bytes = Q8Zero.Quantize(values);
        Assert.Equal(34, bytes.Length);
        Assert.Equal((Half)0.5f, BitConverter.ToHalf(bytes, 0));
        Assert.Equal(unchecked((byte)(sbyte)-16), bytes[2]); // value 0 is −8 = −16 · 0.5
        Assert.Equal(127, bytes[33]);
        Assert.Equal(values, Q8Zero.Dequantize(bytes));
    }

    [Fact]
    public void Rounding_is_to_the_nearest_step_and_a_zero_block_stays_zero()
    {
        var values = new float[64];
        values[0] = 1.27f;   // d = 0.01
        values[1] = 0.014f;  // 1.4 steps → 1
        values[2] = -0.016f; // −1.6 steps → −2
        var back = Q8Zero.Dequantize(Q8Zero.Quantize(values));
        var d = (float)(Half)0.01f;
        Assert.Equal(d, back[1]);
        Assert.Equal(-2 * d, back[2]);
        Assert.All(back.Skip(32), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => Q8Zero.Quantize(new float[33]));
    }
}
