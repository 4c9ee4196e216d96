using System;
using System.Buffers.Binary;

namespace Distillery.Models.Gguf;

/// <summary>
/// ggml's Q8_0 blocks: 32 values share one f16 scale <c>d = max|x| / 127</c> and are stored as int8 <c>round(x / d)</c>,
/// 34 bytes a block (ggml's <c>quantize_row_q8_0_ref</c> and <c>dequantize_row_q8_0</c>).
/// </summary>
public static class Q8Zero
{
    /// <summary>Values per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Bytes per block: the f16 scale and 32 int8 values.</summary>
    public const int BlockBytes = 2 + BlockSize;

    /// <summary>The bytes of <paramref name="count"/> values (a multiple of <see cref="BlockSize"/>).</summary>
    public static long ByteCount(long count) => count / BlockSize * BlockBytes;

    /// <summary>Quantises values (a whole number of blocks) to Q8_0 blocks.</summary>
    public static byte[] Quantize(ReadOnlySpan<float> values)
    {
        if (values.Length % BlockSize != 0) throw new ArgumentException($"{values.Length} values are not a whole number of {BlockSize}-value blocks", nameof(values));
        var output = new byte[ByteCount(values.Length)];
        for (int b = 0, o = 0; b < values.Length; b += BlockSize, o += BlockBytes)
        {
            var block = values.Slice(b, BlockSize);
            var amax = 0f;
            foreach (var v in block) amax = Math.Max(amax, Math.Abs(v));
            var d = amax / 127f;
            var inverse = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteHalfLittleEndian(output.AsSpan(o, 2), (Half)d);
            for (var i = 0; i < BlockSize; i++) output[o + 2 + i] = (byte)(sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
        }
        return output;
    }

    /// <summary>Decodes Q8_0 blocks to floats: each value is its int8 times its block's f16 scale.</summary>
    public static float[] Dequantize(ReadOnlySpan<byte> blocks)
    {
        if (blocks.Length % BlockBytes != 0) throw new ArgumentException($"{blocks.Length} bytes are not a whole number of {BlockBytes}-byte blocks", nameof(blocks));
        var output = new float[blocks.Length / BlockBytes * BlockSize];
        for (int o = 0, b = 0; o < blocks.Length; o += BlockBytes, b += BlockSize)
        {
            var d = (float)BinaryPrimitives.ReadHalfLittleEndian(blocks.Slice(o, 2));
            for (var i = 0; i < BlockSize; i++) output[b + i] = (sbyte)blocks[o + 2 + i] * d;
        }
        return output;
    }
}
