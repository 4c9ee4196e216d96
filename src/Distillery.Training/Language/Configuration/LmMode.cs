namespace Distillery.Training.Language.Configuration;

/// <summary>The four ways <c>distill train</c> turns a dataset (and a local teacher) into a student.</summary>
public enum LmMode
{
    /// <summary>Sequence-level KD: cross-entropy on the teacher's text.</summary>
    Sft,

    /// <summary>Token-level KD from the dataset's stored top-k logprobs; across tokenizers by aligned chunks (--cross-tokenizer).</summary>
    Topk,

    /// <summary>White-box KD: a local teacher's full distributions (and optionally hidden states) on the dataset's text; across tokenizers by ULD or the hybrid.</summary>
    Whitebox,

    /// <summary>On-policy KD (GKD): with probability λ the student's own samples, scored by the local teacher.</summary>
    Onpolicy,
}
