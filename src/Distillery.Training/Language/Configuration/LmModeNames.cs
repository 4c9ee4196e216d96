namespace Distillery.Training.Language.Configuration;

/// <summary>The modes' names as <c>--mode</c> and <c>train.json</c> spell them.</summary>
public static class LmModeNames
{
    /// <summary><c>sft</c>, <c>topk</c>, <c>whitebox</c> or <c>onpolicy</c>.</summary>
    public static string Name(this LmMode mode) => mode.ToString().ToLowerInvariant();
}
