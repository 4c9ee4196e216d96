using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Llama;
using TorchSharp.Modules;

namespace Distillery.Models.Lora;

/// <summary>The linears LoRA can adapt, by short name, and where each sits in a Llama-family model (its Hugging Face module path).</summary>
public static class LoraTarget
{
    /// <summary>Every target name, in model order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["q", "k", "v", "o", "gate", "up", "down", "lm_head"];

    /// <summary>The Hugging Face module name of a target inside its block (q → q_proj), as PEFT's target_modules lists it.</summary>
    public static string ModuleName(string target) => target switch
    {
        "lm_head" => "lm_head",
        _ => target + "_proj",
    };

    /// <summary>
    /// The targeted linears of <paramref name="model"/> with their Hugging Face module paths, in model order; a target the
    /// architecture lacks (lm_head of a model that ties it to the embedding) is an <see cref="InputException"/> naming --lora-targets.
    /// </summary>
    public static IReadOnlyList<(string Path, Linear Linear)> Resolve(LlamaForCausalLM model, IReadOnlyList<string> targets)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(targets);
        var found = new List<(string, Linear)>();
        for (var i = 0; i < model.Model.Layers.Count; i++)
        {
            var block = model.Model.Layers[i];
            foreach (var target in Names.Where(targets.Contains))
            {
                Linear? linear = target switch
                {
                    "q" => block.SelfAttention.QProj,
                    "k" => block.SelfAttention.KProj,
                    "v" => block.SelfAttention.VProj,
                    "o" => block.SelfAttention.OProj,
                    "gate" => block.Mlp.GateProj,
                    "up" => block.Mlp.UpProj,
                    "down" => block.Mlp.DownProj,
                    _ => null,
                };
                if (linear is not null) found.Add(($"model.layers.{i}.{(target is "gate" or "up" or "down" ? "mlp" : "self_attn")}.{ModuleName(target)}", linear));
            }
        }
        if (targets.Contains("lm_head"))
            found.Add(("lm_head", model.LmHead ?? throw InputException.InField("--lora-targets",
                "lm_head: this model ties its output head to the token embedding, so it has no lm_head to adapt; leave it out")));
        return found;
    }
}
