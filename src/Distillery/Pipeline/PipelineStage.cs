namespace Distillery.Pipeline;

/// <summary>The steps of a distillation, in the order they run.</summary>
public enum PipelineStage
{
    /// <summary>A teacher labels prompts into a dataset.</summary>
    Generate,

    /// <summary>A student learns from the dataset (and a local teacher).</summary>
    Train,

    /// <summary>Models are scored on held-out data.</summary>
    Evaluate,

    /// <summary>A model is written as GGUF or a Hugging Face folder.</summary>
    Export,
}
