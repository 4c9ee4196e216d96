using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Distillery.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Lora;

/// <summary>
/// The adapters of one model: attached as forward hooks on its targeted linears (the model's own code is unchanged), with every
/// base parameter frozen so gradients reach only A and B. Only the adapters are this module's parameters, so a trainer given it
/// optimises and checkpoints nothing else. <see cref="Merge"/> folds them into the weights. The fused decoders' weight snapshot
/// (<see cref="LlamaInferenceWeights"/>) reads each linear through <see cref="EffectiveWeight"/>, so it decodes with the adapters
/// while they are attached.
/// </summary>
public sealed class LoraAdapters : nn.Module
{
    // The attached adapter of each adapted linear, for snapshots that read weights rather than run the hooks.
    private static readonly ConditionalWeakTable<Linear, Hooked> HookedLinears = new();
    private readonly List<(string Path, Linear Linear, LoraAdapter Adapter, Action Detach)> attached = [];
    private bool merged;

    private LoraAdapters(LoraSettings settings) : base(nameof(LoraAdapters)) => Settings = settings;

    /// <summary>The rank, scale and targets.</summary>
    public LoraSettings Settings { get; }

    /// <summary>The adapted linears' Hugging Face module paths (<c>model.layers.0.self_attn.q_proj</c>), in model order.</summary>
    public IReadOnlyList<string> Paths => attached.Select(a => a.Path).ToList();

    /// <summary>Parameters in the adapters: the trainable count.</summary>
    public long TrainableParameters => parameters().Sum(p => p.numel());

    /// <summary>
    /// Freezes <paramref name="model"/> and attaches fresh adapters (A from <paramref name="seed"/>, B zero) to the targeted linears;
    /// a target the architecture lacks is an <see cref="Core.Errors.InputException"/> naming --lora-targets.
    /// </summary>
    public static LoraAdapters Attach(LlamaForCausalLM model, LoraSettings settings, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var targets = LoraTarget.Resolve(model, settings.Targets);
        foreach (var p in model.parameters()) p.requires_grad = false;
        var adapters = new LoraAdapters(settings);
        using var generator = new Generator((ulong)seed);
        foreach (var (path, linear) in targets)
        {
            var weight = linear.weight!;
            var adapter = new LoraAdapter(weight.shape[1], weight.shape[0], settings.Rank, generator);
            adapter.to(weight.device);
            adapters.register_module(path.Replace('.', '_'), adapter);
            var scale = settings.Scale;
            var hook = linear.register_forward_hook((_, x, y) => y + LoraMath.Delta(x, adapter.A, adapter.B, scale));
            adapters.attached.Add((path, linear, adapter, hook.remove));
            HookedLinears.AddOrUpdate(linear, new Hooked(adapter, settings.Scale));
        }
        return adapters;
    }

    /// <summary>
    /// A new tensor holding the weight <paramref name="linear"/> computes with: its own, plus <c>(alpha/r)·B A</c> while an
    /// adapter is attached to it (what its forward hook adds), detached from autograd.
    /// </summary>
    public static Tensor EffectiveWeight(Linear linear)
    {
        ArgumentNullException.ThrowIfNull(linear);
        using var noGrad = no_grad();
        var weight = linear.weight!.detach();
        if (!HookedLinears.TryGetValue(linear, out var hooked)) return weight.clone();
        return LoraMath.Merged(weight, hooked.Adapter.A.detach(), hooked.Adapter.B.detach(), hooked.Scale);
    }

    private sealed record Hooked(LoraAdapter Adapter, double Scale);

    /// <summary>Each adapter's A and B under PEFT's names (<c>base_model.model.PATH.lora_A.weight</c>).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> PeftTensors()
    {
        foreach (var (path, _, adapter, _) in attached)
        {
            yield return KeyValuePair.Create(PeftName(path, LoraAdapter.AName), (Tensor)adapter.A);
            yield return KeyValuePair.Create(PeftName(path, LoraAdapter.BName), (Tensor)adapter.B);
        }
    }

    /// <summary>The name PEFT gives an adapter matrix of the linear at <paramref name="path"/>.</summary>
    public static string PeftName(string path, string matrix) => $"base_model.model.{path}.{matrix}.weight";

    /// <summary>Copies A and B for every adapter from <paramref name="lookup"/> (by PEFT name); returns the first name it lacks or whose shape differs, or null.</summary>
    public string? Load(Func<string, Tensor?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        using var noGrad = no_grad();
        foreach (var (path, _, adapter, _) in attached)
            foreach (var (matrix, p) in new[] { (LoraAdapter.AName, adapter.A), (LoraAdapter.BName, adapter.B) })
            {
                var name = PeftName(path, matrix);
                using var t = lookup(name);
                if (t is null || !t.shape.SequenceEqual(p.shape)) return name;
                p.copy_(t);
            }
        return null;
    }

    /// <summary>Folds every adapter into its linear's weight, <c>W ← W + (alpha/r)·B A</c>, and detaches the hooks; the adapters stay as they were.</summary>
    public void Merge()
    {
        if (merged) throw new InvalidOperationException("the adapters are already merged");
        merged = true;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (_, linear, adapter, detach) in attached)
        {
            detach();
            HookedLinears.Remove(linear);
            linear.weight!.copy_(LoraMath.Merged(linear.weight!, adapter.A, adapter.B, Settings.Scale));
        }
    }
}
