namespace Distillery.Pipeline;

/// <summary>The precision of exported weights.</summary>
public enum ExportWeightType
{
    /// <summary>32-bit floats (GGUF and safetensors).</summary>
    F32,

    /// <summary>16-bit floats (GGUF and safetensors).</summary>
    F16,

    /// <summary>llama.cpp's 8-bit blocks (GGUF only).</summary>
    Q8_0,

    /// <summary>bfloat16 (safetensors only).</summary>
    BF16,
}
