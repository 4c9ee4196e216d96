namespace Distillery.Models.Gguf;

/// <summary>The ggml tensor element types Distillery reads and writes (others, such as quantised blocks, are refused by name).</summary>
public enum GgmlType : uint
{
    /// <summary>32-bit float.</summary>
    F32 = 0,
    /// <summary>IEEE half precision.</summary>
    F16 = 1,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}
