namespace Distillery.Training.CrossTokenizer;

/// <summary>The objective of a run whose student's tokenizer differs from the teacher's (<c>--cross-tokenizer</c>).</summary>
public enum CrossTokenizerMethod
{
    /// <summary>Chunk likelihood matching (ALM) on the teacher's sampled-token logprobs; every aligned chunk counts.</summary>
    Alm,

    /// <summary>The teacher's top-k alternatives at chunk starts that the student spells as one token (KL under the tail policy).</summary>
    TopkChunkStarts,

    /// <summary>ALM plus top-k at chunk starts, each a per-chunk mean, added: the likelihood of every chunk and the alternatives where spelled.</summary>
    AlmAndTopk,

    /// <summary>White-box only: universal logit distillation on the local teacher's full distribution at chunk starts.</summary>
    Uld,

    /// <summary>White-box only: GOLD's hybrid (KL over shared tokens + sorted L1 over the rest) at chunk starts.</summary>
    Hybrid,
}

/// <summary>Which methods need which data.</summary>
public static class CrossTokenizerMethods
{
    /// <summary>The default for <c>--mode topk</c>: <see cref="CrossTokenizerMethod.TopkChunkStarts"/> (with prefix groups, the best measured in bench/results/cross-tokenizer.md).</summary>
    public const CrossTokenizerMethod TopKDefault = CrossTokenizerMethod.TopkChunkStarts;

    /// <summary>The default for <c>--mode whitebox</c>: <see cref="CrossTokenizerMethod.TopkChunkStarts"/> on the local teacher's top-20 (the only white-box method that beat SFT in bench/results/cross-tokenizer.md).</summary>
    public const CrossTokenizerMethod WhiteBoxDefault = CrossTokenizerMethod.TopkChunkStarts;

    /// <summary>Whether the method needs a local teacher's full logits (ULD, hybrid) rather than stored logprobs.</summary>
    public static bool NeedsFullLogits(this CrossTokenizerMethod method) => method is CrossTokenizerMethod.Uld or CrossTokenizerMethod.Hybrid;

    /// <summary>Whether the method uses chunk likelihoods (ALM).</summary>
    public static bool UsesAlm(this CrossTokenizerMethod method) => method is CrossTokenizerMethod.Alm or CrossTokenizerMethod.AlmAndTopk;

    /// <summary>Whether the method uses the stored top-k alternatives at chunk starts.</summary>
    public static bool UsesTopK(this CrossTokenizerMethod method) => method is CrossTokenizerMethod.TopkChunkStarts or CrossTokenizerMethod.AlmAndTopk;
}
