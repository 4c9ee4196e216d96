using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.ExportAsync"/> does: which model is written where, in which format and precision, and whether llama.cpp checks it.</summary>
public sealed record ExportOptions : PipelineOptions
{
    /// <summary>The model spec, or <c>best-of:REPORT_DIR</c> for the best student an evaluation report names.</summary>
    public required string Model { get; init; }

    /// <summary>GGUF or a safetensors folder.</summary>
    public required ExportFormat Format { get; init; }

    /// <summary>The .gguf file, or the folder for safetensors.</summary>
    public required string Output { get; init; }

    /// <summary>The weights' precision: F32, F16 or Q8_0 for GGUF; F32, F16 or BF16 for safetensors.</summary>
    public ExportWeightType WeightType { get; init; } = ExportWeightType.F32;

    /// <summary>A tokenizer file or folder, where none is found beside the model.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Whether llama.cpp runs the GGUF: F32/F16 greedy tokens must equal Distillery's; Q8_0 reports where they diverge.</summary>
    public bool Verify { get; init; }

    /// <summary>A chat template instead of the model's own.</summary>
    public ChatTemplateChoice ChatTemplate { get; init; } = ChatTemplateChoice.None;

    /// <summary>Throws an <see cref="InputException"/> naming the option where the format and precision (or the check) do not go together.</summary>
    public ExportOptions Validate()
    {
        if (Format == ExportFormat.Safetensors && WeightType == ExportWeightType.Q8_0)
            throw InputException.InField("--dtype", "q8_0 is a GGUF type; safetensors folders hold f32, f16 or bf16");
        if (Format == ExportFormat.Gguf && WeightType == ExportWeightType.BF16)
            throw InputException.InField("--dtype", "GGUF export writes f32, f16 or q8_0");
        if (Verify && Format != ExportFormat.Gguf) throw InputException.InField("--verify", "checks GGUF files with llama.cpp; use it with --format gguf");
        return this;
    }
}
