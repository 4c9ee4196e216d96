namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.ExportAsync"/> wrote.</summary>
/// <param name="Path">The .gguf file or the safetensors folder.</param>
/// <param name="Source">The model spec exported (<c>best-of:</c> resolved).</param>
/// <param name="Format">The format written.</param>
/// <param name="WeightType">The weights' precision.</param>
/// <param name="Bytes">The size written, in bytes.</param>
/// <param name="Architecture">The GGUF architecture name (<c>llama</c>, …); null for safetensors.</param>
/// <param name="Check">llama.cpp's run of the GGUF, where asked for.</param>
public sealed record ExportResult(string Path, string Source, ExportFormat Format, ExportWeightType WeightType, long Bytes, string? Architecture, GgufCheck? Check);
