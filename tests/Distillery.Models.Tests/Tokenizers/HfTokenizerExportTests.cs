using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Models.Tests.Tokenizers;

/// <summary>
/// Every kind of tokenizer, written as a Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json with the
/// template), against transformers.js (npm @lenml/tokenizers) loading that folder: the ids and the rendered chat that
/// tests/data/tokenizers/hf-export/make-reference.mjs wrote into reference-ids.json. The committed folder files must
/// equal what the export writes today, so the reference speaks for the current export.
/// </summary>
public sealed class HfTokenizerExportTests : IDisposable
{
    /// <summary>Set to the hf-export folder to (re)write its files for make-reference.mjs.</summary>
    private const string WriteVariable = "DISTILLERY_WRITE_HF_EXPORT";

    private readonly ScratchFolder scratch = new("hf-tokenizer-export");

    public void Dispose() => scratch.Dispose();

    [Theory]
    [InlineData("spm-bpe-1024")]
    [InlineData("spm-nfkc-400")]
    public Task SentencePiece_models_encode_as_transformers_js_reads_their_export(string name) => CheckAsync(name);

    [SharedDataFact(TokenizerData.Tok512)]
    public Task Llama2c_tok512_encodes_as_transformers_js_reads_its_export() => CheckAsync("tok512");

    // Converts the 200k-token o200k_base encoding (seconds).
    [Fact]
    [Trait("Speed", "Slow")]
    public Task Tiktoken_o200k_base_encodes_as_transformers_js_reads_its_export() => CheckAsync("o200k_base");

    // Loads the 130k–150k-piece real tokenizers (seconds each).
    [SharedDataTheory(TokenizerData.SharedFolder)]
    [Trait("Speed", "Slow")]
    [InlineData("qwen3")]
    [InlineData("llama-3.1")]
    public Task Real_tokenizer_json_files_are_copied_and_encode_as_transformers_js_reads_them(string name) => CheckAsync(name);

    private async Task CheckAsync(string name)
    {
        var (original, template) = await OriginalAsync(name);
        var folder = Path.Combine(scratch.Path, name);
        await original.SaveToFolderAsync(Directory.CreateDirectory(folder).FullName);
        await HfTokenizerFiles.WriteAsync(folder, original, template, 2048, []);
        if (Environment.GetEnvironmentVariable(WriteVariable) is { Length: > 0 } target) Publish(folder, Path.Combine(target, name), IsSmall(name));

        var committed = Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", "hf-export", name);
        foreach (var file in new[] { ChatTemplate.TokenizerConfigFileName, ChatTemplate.JinjaFileName })
            Assert.True(File.ReadAllBytes(Path.Combine(committed, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(folder, file))), $"{name}/{file} differs from the committed one; regenerate the reference");
        var tokenizerJson = File.ReadAllBytes(Path.Combine(folder, HfTokenizer.FileName));
        if (IsSmall(name)) Assert.True(File.ReadAllBytes(Path.Combine(committed, HfTokenizer.FileName)).SequenceEqual(tokenizerJson), $"{name}/tokenizer.json differs from the committed one");
        else Assert.Equal(File.ReadAllText(Path.Combine(committed, "tokenizer.json.sha256")).Trim(), Convert.ToHexStringLower(SHA256.HashData(tokenizerJson)));
        if (original is HfTokenizer) Assert.Equal(File.ReadAllBytes(SharedTestData.Get($"{TokenizerData.SharedFolder}/{name}/{HfTokenizer.FileName}")), tokenizerJson);

        var reference = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", "hf-export", "reference-ids.json")))!;
        var texts = reference["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        var expected = reference["folders"]![name]!;
        var reloaded = await TokenizerLoader.LoadAsync(folder);
        foreach (var tokenizer in new[] { original, reloaded })
        {
            for (var i = 0; i < texts.Length; i++)
                AssertIds(expected["ids"]![i]!, tokenizer.Encode(texts[i]).ToArray(), $"{name} ({tokenizer.Name}), text {i} {JsonValue.Create(texts[i]).ToJsonString()}");
            AssertIds(expected["idsWithSpecialTokens"]!, tokenizer.Encode(texts[0], addBos: true).ToArray(), $"{name} ({tokenizer.Name}), text 0 with BOS");
        }

        var messages = reference["messages"]!.AsArray().Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
        var rendered = (await ChatTemplate.LoadAsync(folder)).Render(messages);
        Assert.Equal(expected["chat"]!.GetValue<string>(), rendered);
        foreach (var tokenizer in new[] { original, reloaded })
            AssertIds(expected["chatIds"]!, tokenizer.Encode(rendered).ToArray(), $"{name} ({tokenizer.Name}), the rendered chat");
    }

    private static async Task<(ITextTokenizer Tokenizer, ChatTemplate Template)> OriginalAsync(string name) => name switch
    {
        "tok512" => (await TokenizerData.LoadTok512Async(), ChatTemplate.Plain),
        "spm-bpe-1024" or "spm-nfkc-400" => (await SentencePieceTextTokenizer.LoadAsync(TokenizerData.Committed($"{name}/tokenizer.model")), ChatTemplate.ChatML),
        "o200k_base" => (TiktokenTextTokenizer.Create(name), ChatTemplate.ChatML),
        _ => (await TokenizerData.LoadRealAsync(name), await ChatTemplate.LoadAsync(SharedTestData.Get($"{TokenizerData.SharedFolder}/{name}"))),
    };

    /// <summary>Whether the folder's tokenizer.json is small enough to commit (the others are committed as their SHA-256).</summary>
    private static bool IsSmall(string name) => name is "tok512" or "spm-bpe-1024" or "spm-nfkc-400";

    private static void Publish(string folder, string target, bool small)
    {
        Directory.CreateDirectory(target);
        foreach (var file in new[] { HfTokenizer.FileName, ChatTemplate.TokenizerConfigFileName, ChatTemplate.JinjaFileName })
            File.Copy(Path.Combine(folder, file), Path.Combine(target, file), overwrite: true);
        if (!small)
            File.WriteAllText(Path.Combine(target, "tokenizer.json.sha256"), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, HfTokenizer.FileName)))) + "\n");
    }

    private static void AssertIds(JsonNode want, int[] got, string what)
    {
        var expected = want.AsArray().Select(id => id!.GetValue<int>()).ToArray();
        Assert.True(expected.SequenceEqual(got), $"{what}:\n  transformers.js [{string.Join(", ", expected)}]\n  Distillery      [{string.Join(", ", got)}]");
    }
}
