using System;
using System.Threading.Tasks;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Teachers.Tests.Gguf;

/// <summary>A SentencePiece tokenizer.model exported to GGUF (model "llama": pieces, scores, token types) must tokenise in llama.cpp exactly as Distillery does.</summary>
public sealed class SentencePieceGgufAgainstLlamaCppTests : IDisposable
{
    // ASCII, whitespace runs (leading, inside, trailing), tabs and newlines, digits, emoji and CJK (byte fallback), accents.
    private static readonly string[] Texts =
    [
        "Once upon a time, there was a little girl named Lily.",
        "  two leading spaces,   three inside\n\n\nthree newlines\t\ttabs \r\n crlf   ",
        "Emoji: 🙂👍🏽 👨‍👩‍👧 🇫🇷 ✨ and 東京は日本の首都です。",
        "naïve café façade über Ångström — “quoted” …",
        "Tom said, \"I have 12345 apples!\" 3.14",
        "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        "x",
    ];

    private readonly ScratchFolder scratch = new("spm-gguf-llamacpp");

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task Llama_cpp_tokenises_the_exported_spm_1024_vocabulary_as_Distillery_does()
    {
        var tokenizer = await TokenizerData.LoadSpm1024Async();
        // The vocabulary padded to a round size, as real embeddings are: the extra ids become unused placeholders.
        var config = new LlamaConfig { HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 4, VocabSize = 1088, MaxPositionEmbeddings = 256 };
        using var model = LlamaForCausalLM.Create(config, 7);
        var path = scratch.File("spm-1024.gguf");
        LlamaGguf.Export(model, tokenizer, path);

        using var llama = LlamaCppModel.Load(path);
        Assert.Equal(1088, llama.VocabSize);
        foreach (var text in Texts)
            Assert.Equal(tokenizer.Encode(text, addBos: true), llama.Tokenize(text));

        // Distillery's own GGUF reader gives the same ids back.
        var (loaded, loadedTokenizer) = LlamaGguf.Load(path);
        using var _ = loaded;
        foreach (var text in Texts)
            Assert.Equal(tokenizer.Encode(text, addBos: true), loadedTokenizer.Encode(text, addBos: true));
    }

    [Fact]
    public async Task A_normalising_spm_model_is_refused_with_one_line()
    {
        var tokenizer = await SentencePieceTextTokenizer.LoadAsync(TokenizerData.Committed("spm-nfkc-400/tokenizer.model"));
        var config = new LlamaConfig { HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 4, VocabSize = 400, MaxPositionEmbeddings = 256 };
        using var model = LlamaForCausalLM.Create(config, 7);
        var e = Assert.Throws<Distillery.Core.Errors.InputException>(() => LlamaGguf.Export(model, tokenizer, scratch.File("nfkc.gguf")));
        Assert.Contains("NFKC", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
