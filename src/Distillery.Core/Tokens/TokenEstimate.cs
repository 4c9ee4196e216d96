namespace Distillery.Core.Tokens;

/// <summary>The rough token count used where no tokenizer has counted yet: about 4 characters a token (OpenAI's rule of thumb for English).</summary>
public static class TokenEstimate
{
    /// <summary>Characters per token assumed.</summary>
    public const int CharactersPerToken = 4;

    /// <summary>Tokens of a text, rounded up: ⌈length / 4⌉.</summary>
    public static int Of(string text) => (text.Length + CharactersPerToken - 1) / CharactersPerToken;
}
