namespace Distillery.Pipeline;

/// <summary>How llama.cpp's greedy decoding of an exported GGUF compared with Distillery's.</summary>
/// <param name="Prompt">The prompt decoded.</param>
/// <param name="Tokens">Tokens Distillery generated.</param>
/// <param name="SamePrefix">Leading tokens llama.cpp generated identically.</param>
/// <param name="Identical">Whether every token was the same.</param>
/// <param name="LargestLogitError">Quantised files: the largest |Δlogit| against the f32 model along its text; null otherwise.</param>
/// <param name="Positions">Quantised files: the positions that error was measured over; 0 otherwise.</param>
public sealed record GgufCheck(string Prompt, int Tokens, int SamePrefix, bool Identical, float? LargestLogitError = null, int Positions = 0);
