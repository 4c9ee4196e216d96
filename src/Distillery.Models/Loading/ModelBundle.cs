using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;
using Distillery.Models.Checkpoints;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;

namespace Distillery.Models.Loading;

/// <summary>A loaded model with what it needs to talk: its tokenizer, config and chat template. Owns (disposes) the model.</summary>
public sealed class ModelBundle : IDisposable
{
    private readonly Lock gate = new();
    private LlamaInferenceWeights? weights;

    /// <summary>Bundles a model with its tokenizer; the chat template defaults to ChatML.</summary>
    public ModelBundle(string spec, LlamaForCausalLM model, ITextTokenizer tokenizer, ChatTemplate? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        Spec = spec;
        Model = model;
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate ?? ChatTemplate.ChatML;
    }

    /// <summary>Where the model came from, as a spec string (<c>llama2c:PATH</c>, <c>checkpoint:DIR</c>, <c>random:SEED</c>).</summary>
    public string Spec { get; }

    /// <summary>The model.</summary>
    public LlamaForCausalLM Model { get; }

    /// <summary>Its tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; }

    /// <summary>Its blueprint.</summary>
    public LlamaConfig Config => Model.Config;

    /// <summary>How chat messages become its prompt text (replaceable, e.g. with <c>--chat-template</c> or template arguments).</summary>
    public ChatTemplate ChatTemplate { get; set; }

    /// <summary>A randomly initialised model from a config and seed, with the given tokenizer.</summary>
    public static ModelBundle CreateRandom(LlamaConfig config, long seed, ITextTokenizer tokenizer, ChatTemplate? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ModelBundle($"random:{seed}", LlamaForCausalLM.Create(config, seed), tokenizer, chatTemplate);
    }

    /// <summary>
    /// Moves the model's weights onto <paramref name="device"/> (a no-op where they are already there) and drops the
    /// generation snapshot, which is retaken there. Call before an optimiser is built over the parameters. Returns this bundle.
    /// </summary>
    public ModelBundle MoveTo(TorchSharp.torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var at = Model.OutputWeight.device;
        if (at.type == device.type && (device.type == TorchSharp.DeviceType.CPU || at.index == device.index)) return this;
        InvalidateInferenceWeights();
        TorchSharp.ModuleExtensionMethods.to(Model, device);
        return this;
    }

    /// <summary>Prompt text as ids, with BOS first where the tokenizer has one.</summary>
    public IReadOnlyList<int> EncodePrompt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Tokenizer.Encode(text, addBos: Tokenizer.BosId is not null);
    }

    /// <summary>Continues prompt text (BOS added where the tokenizer has one).</summary>
    public GenerationResult Generate(string prompt, SamplingParameters parameters, Action<TokenLogprob>? onToken = null, CancellationToken cancellationToken = default) =>
        Generate(EncodePrompt(prompt), parameters, onToken, cancellationToken);

    /// <summary>Continues prompt ids.</summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, SamplingParameters parameters, Action<TokenLogprob>? onToken = null, CancellationToken cancellationToken = default) =>
        TextGenerator.Generate(InferenceWeights(), Tokenizer, promptIds, parameters, onToken, cancellationToken);

    /// <summary>Answers a chat: the messages through the chat template, then generation.</summary>
    public GenerationResult GenerateChat(IReadOnlyList<ChatMessage> messages, SamplingParameters parameters, Action<TokenLogprob>? onToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return Generate(ChatTemplate.Apply(messages), parameters, onToken, cancellationToken);
    }

    /// <summary>Each token of the text (after the first) with its logprob given the text before it, and top alternatives.</summary>
    public IReadOnlyList<TokenLogprob> Score(string text, int topLogprobs = 0) => TokenScoring.Score(Model, Tokenizer, EncodePrompt(text), topLogprobs);

    /// <summary>Saves as a model folder: config.json, model.safetensors (f32, or f16/bf16), the tokenizer, the chat template, and the lineage where given.</summary>
    public async Task SaveAsync(string directory, Lineage? lineage = null, CancellationToken cancellationToken = default, TorchSharp.torch.ScalarType dtype = TorchSharp.torch.ScalarType.Float32)
    {
        await CheckpointFolder.SaveAsync(directory, Model, Tokenizer, lineage, cancellationToken, dtype);
        await ChatTemplate.SaveAsync(directory, cancellationToken);
    }

    /// <summary>The fused weight snapshot generation uses, taken on first use; call <see cref="InvalidateInferenceWeights"/> after training.</summary>
    public LlamaInferenceWeights InferenceWeights()
    {
        lock (gate) return weights ??= new LlamaInferenceWeights(Model);
    }

    /// <summary>Drops the generation snapshot so the next generation sees the model's current weights.</summary>
    public void InvalidateInferenceWeights()
    {
        lock (gate)
        {
            weights?.Dispose();
            weights = null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InvalidateInferenceWeights();
        Model.Dispose();
    }
}
