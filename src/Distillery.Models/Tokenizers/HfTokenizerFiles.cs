using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// Writes any tokenizer as the files transformers and transformers.js read: <c>tokenizer.json</c> (a Hugging Face one as it
/// is; llama2.c and SentencePiece BPE vocabularies as BPE with byte fallback; tiktoken encodings as byte-level BPE) and
/// <c>tokenizer_config.json</c> with the BOS/EOS tokens and the chat template (also as <c>chat_template.jinja</c>).
/// </summary>
public static class HfTokenizerFiles
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    /// <summary>
    /// Writes tokenizer.json, tokenizer_config.json and chat_template.jinja into <paramref name="directory"/>; EOS is the
    /// template's <c>eos_token</c>, else the first of <paramref name="eosIds"/> the tokenizer has, else its first stop id.
    /// A tokenizer tokenizer.json cannot express is an <see cref="InputException"/>.
    /// </summary>
    public static async Task WriteAsync(string directory, ITextTokenizer tokenizer, ChatTemplate template, int modelMaxLength, IReadOnlyList<int> eosIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(eosIds);
        Directory.CreateDirectory(directory);
        var tokenText = await WriteTokenizerJsonAsync(directory, tokenizer, cancellationToken);
        var eosId = eosIds.Where(id => id < tokenizer.VocabSize).Cast<int?>().FirstOrDefault() ?? tokenizer.StopIds.Order().Cast<int?>().FirstOrDefault();
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = template.BosToken ?? (tokenizer.BosId is { } bos ? tokenText(bos) : null),
            ["eos_token"] = template.EosToken ?? (eosId is { } eos ? tokenText(eos) : null),
            ["add_bos_token"] = tokenizer.BosId is not null,
            ["add_eos_token"] = false,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = modelMaxLength,
        };
        if (tokenizer is SentencePieceTextTokenizer or Llama2cTokenizer) config["unk_token"] = "<unk>";
        await File.WriteAllTextAsync(Path.Combine(directory, ChatTemplate.TokenizerConfigFileName), config.ToJsonString(Readable) + "\n", cancellationToken);
        // The template merges its chat_template (and any BOS/EOS it names) into the config just written.
        await template.WithSpecialTokens(config["bos_token"]?.GetValue<string>(), config["eos_token"]?.GetValue<string>()).SaveAsync(directory, cancellationToken);
    }

    /// <summary>Writes tokenizer.json and returns how it spells an id (for the special tokens' names).</summary>
    private static async Task<Func<int, string?>> WriteTokenizerJsonAsync(string directory, ITextTokenizer tokenizer, CancellationToken cancellationToken)
    {
        switch (tokenizer)
        {
            case HfTokenizer hf:
                await hf.SaveToFolderAsync(directory, cancellationToken);
                return hf.TokenString;
            case TiktokenTextTokenizer tiktoken:
                var bpe = TiktokenTokenizerJson.Build(tiktoken);
                await bpe.SaveToFolderAsync(directory, cancellationToken);
                return bpe.TokenString;
            case Llama2cTokenizer llama2c:
                return await WriteSentencePieceAsync(directory, llama2c.Vocabulary(), llama2c.Name, cancellationToken);
            case SentencePieceTextTokenizer spm:
                var vocabulary = spm.Vocabulary
                                 ?? throw InputException.InField("--format", $"{spm.Name} is a SentencePiece Unigram model; the Hugging Face export writes SentencePiece BPE models only");
                return await WriteSentencePieceAsync(directory, vocabulary, spm.Name, cancellationToken);
            default:
                throw InputException.InField("--format", $"{tokenizer.Name} cannot be written as a Hugging Face tokenizer.json");
        }
    }

    private static async Task<Func<int, string?>> WriteSentencePieceAsync(string directory, SentencePieceVocabulary vocabulary, string source, CancellationToken cancellationToken)
    {
        var json = SentencePieceTokenizerJson.Build(vocabulary, source);
        await File.WriteAllTextAsync(Path.Combine(directory, HfTokenizer.FileName), json.ToJsonString(Readable) + "\n", new UTF8Encoding(false), cancellationToken);
        return vocabulary.PieceOf;
    }
}
