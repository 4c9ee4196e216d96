namespace Distillery.Pipeline;

/// <summary>The file formats a model is exported to.</summary>
public enum ExportFormat
{
    /// <summary>One GGUF v3 file, for llama.cpp and Ollama.</summary>
    Gguf,

    /// <summary>A Hugging Face folder: config.json, model.safetensors, the tokenizer and chat template.</summary>
    Safetensors,
}
