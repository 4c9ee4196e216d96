using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Lora;
using Distillery.Models.Tokenizers;

namespace Distillery.Models.Loading;

/// <summary>Loads a <see cref="ModelBundle"/> from a model spec: <c>llama2c:PATH</c> or <c>checkpoint:DIR</c>.</summary>
public static class ModelLoader
{
    /// <summary>
    /// <c>llama2c:PATH</c>: a llama2.c .bin, its tokenizer beside it (tokenizer.bin, then tok{vocab}.bin) unless given;
    /// <c>checkpoint:DIR</c>: a Hugging Face model folder with its tokenizer and chat template (chat_template.jinja, tokenizer_config.json, or an old chat_template.json).
    /// A bare path is taken as a folder or a .bin file by what it is. <paramref name="tokenizer"/> overrides the tokenizer
    /// (a file, a folder, or <c>tiktoken:o200k_base</c>).
    /// </summary>
    public static async Task<ModelBundle> LoadAsync(string spec, string? tokenizer = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var parsed = ModelSpec.Parse(spec, "model");
        var path = parsed.Target;
        switch (parsed.Kind)
        {
            case ModelKind.Llama2c:
            {
                var model = await Llama2cCheckpoint.LoadAsync(path, cancellationToken);
                try
                {
                    var tok = await TokenizerLoader.LoadAsync(tokenizer ?? FindLlama2cTokenizer(path, model.Config), cancellationToken);
                    CheckVocab(tok, model.Config, spec);
                    return new ModelBundle(spec, model, tok, ChatTemplate.Plain); // llama2.c models are base models
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
            }
            case ModelKind.Checkpoint when LoraFolder.IsAdapterFolder(path):
                return await LoadAdaptedAsync(spec, path, tokenizer, cancellationToken);
            case ModelKind.Checkpoint:
            {
                var model = await CheckpointFolder.LoadAsync(path, cancellationToken);
                try
                {
                    var tok = await TokenizerLoader.LoadAsync(tokenizer ?? path, cancellationToken);
                    CheckVocab(tok, model.Config, spec);
                    return new ModelBundle(spec, model, tok, await ChatTemplate.LoadAsync(path, cancellationToken));
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
            }
            case ModelKind.Gguf:
            {
                var (model, tok) = LlamaGguf.Load(path);
                try
                {
                    if (tokenizer is not null) tok = await TokenizerLoader.LoadAsync(tokenizer, cancellationToken);
                    CheckVocab(tok, model.Config, spec);
                    return new ModelBundle(spec, model, tok, GgufChatTemplate(path));
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
            }
            default:
                throw InputException.InField("model", $"'{spec}' is not a local model; use llama2c:PATH, checkpoint:DIR or gguf:PATH");
        }
    }

    /// <summary>
    /// An adapter folder: its base model (refused where its weights changed since training), with the adapters merged into the
    /// weights, <c>W + (alpha/r)·B A</c>; the base's tokenizer, and the folder's chat template where it has one.
    /// </summary>
    private static async Task<ModelBundle> LoadAdaptedAsync(string spec, string path, string? tokenizer, CancellationToken cancellationToken)
    {
        var config = await LoraFolder.ReadConfigAsync(path, cancellationToken);
        var bundle = await LoadAsync(config.BaseModel, tokenizer, cancellationToken);
        try
        {
            LoraFolder.CheckBase(config, WeightsHash.Of(bundle.Model), "model");
            using var adapters = LoraAdapters.Attach(bundle.Model, config.Settings, seed: 0);
            LoraFolder.LoadWeights(path, adapters);
            adapters.Merge();
            foreach (var p in bundle.Model.parameters()) p.requires_grad = true;
            var template = await ChatTemplate.TryLoadAsync(path, cancellationToken) ?? bundle.ChatTemplate;
            return new ModelBundle(spec, bundle.Model, bundle.Tokenizer, template);
        }
        catch
        {
            bundle.Dispose();
            throw;
        }
    }

    /// <summary>The file or folder a model spec points at (<c>llama2c:PATH</c> → PATH; anything else as it is).</summary>
    public static string PathOf(string spec) => ModelSpec.TryParse(spec)?.Target ?? spec;

    /// <summary>A short name for a model: its file or folder name without the extension.</summary>
    public static string NameOf(string spec) => (ModelSpec.TryParse(spec) ?? new ModelSpec(ModelKind.Checkpoint, spec)).Name;

    /// <summary>The GGUF file's own chat template (<c>tokenizer.chat_template</c>), or plain where it has none.</summary>
    private static ChatTemplate GgufChatTemplate(string path)
    {
        using var file = GgufFile.Open(path);
        return file.Metadata.ContainsKey(LlamaGguf.ChatTemplateKey) ? ChatTemplate.Parse(file.Get<string>(LlamaGguf.ChatTemplateKey), path) : ChatTemplate.Plain;
    }

    private static string FindLlama2cTokenizer(string modelPath, LlamaConfig config)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".";
        foreach (var name in new[] { Llama2cTokenizer.FileName, $"tok{config.VocabSize}.bin" })
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw InputException.InField("tokenizer", $"no tokenizer.bin or tok{config.VocabSize}.bin beside {modelPath}; give one with --tokenizer PATH");
    }

    private static void CheckVocab(ITextTokenizer tokenizer, LlamaConfig config, string spec)
    {
        if (tokenizer.VocabSize > config.VocabSize)
            throw InputException.InField("tokenizer", $"{tokenizer.Name} has {tokenizer.VocabSize} tokens but the model {spec} has vocab_size {config.VocabSize}; give the model's own tokenizer");
    }
}
