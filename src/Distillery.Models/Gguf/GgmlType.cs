namespace Distillery.Models.Gguf;

/// <summary>The ggml tensor element types Distillery reads and writes (other quantised blocks are refused by name).</summary>
public enum GgmlType : uint
{
    /// <summary>32-bit float.</summary>
    F32 = 0,
    /// <summary>IEEE half precision.</summary>
    F16 = 1,
    /// <summary>8-bit blocks of 32 values with an f16 scale (<see cref="Q8Zero"/>).</summary>
    Q8_0 = 8,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}
