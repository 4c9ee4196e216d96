namespace Distillery.Training.Language.Data;

/// <summary>How dataset rows become student token sequences.</summary>
/// <param name="MaxLength">The longest sequence kept (prompt + completion); longer rows lose the end of their completion.</param>
/// <param name="WithTopK">Whether to map the rows' stored top-k logprobs to student ids by token bytes (refusing a different tokenizer).</param>
/// <param name="AppendEos">Whether a completion that ended by itself (finish reason "stop") is followed by the tokenizer's end-of-sequence id.</param>
/// <param name="TeacherSamples">With <paramref name="WithTopK"/> and above 0: take each token's first that many stored teacher samples (<c>sampled_logprobs</c>, repeats kept) instead of its top-k alternatives.</param>
/// <param name="TopLogprobs">Above 0: keep only each token's that many most likely stored alternatives (an ablation of k); 0 keeps all.</param>
public sealed record LmTokenization(int MaxLength, bool WithTopK = false, bool AppendEos = true, int TeacherSamples = 0, int TopLogprobs = 0);
