using System;

namespace Distillery.Models.Tokenizers;

/// <summary>Whether two tokenizers share a vocabulary: the one rule that decides when logits can be compared id by id.</summary>
public static class SharedVocabulary
{
    /// <summary>True when both have the same number of ids and each id stands for the same bytes and is special in both or neither.</summary>
    public static bool Between(ITextTokenizer a, ITextTokenizer b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (ReferenceEquals(a, b)) return true;
        if (a.VocabSize != b.VocabSize) return false;
        for (var id = 0; id < a.VocabSize; id++)
            if (a.IsSpecial(id) != b.IsSpecial(id) || !a.TokenBytes(id).SequenceEqual(b.TokenBytes(id))) return false;
        return true;
    }
}
