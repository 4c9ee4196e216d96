using System;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Lora;

/// <summary>One linear's adapter: A (r, in), initialised like a linear's weight (U(±1/√in)), and B (out, r), zeros, so it starts as a no-op.</summary>
public sealed class LoraAdapter : nn.Module
{
    /// <summary>PEFT's name for A.</summary>
    public const string AName = "lora_A";

    /// <summary>PEFT's name for B.</summary>
    public const string BName = "lora_B";

    /// <summary>Creates the pair for an (out, in) weight; A is drawn from <paramref name="generator"/>.</summary>
    public LoraAdapter(long inFeatures, long outFeatures, int rank, Generator generator) : base(nameof(LoraAdapter))
    {
        ArgumentNullException.ThrowIfNull(generator);
        var bound = 1.0 / Math.Sqrt(inFeatures); // kaiming_uniform_(a = √5), as nn.Linear and PEFT initialise A
        using (no_grad())
        {
            register_parameter(AName, new Parameter(empty(rank, inFeatures).uniform_(-bound, bound, generator)));
            register_parameter(BName, new Parameter(zeros(outFeatures, rank)));
        }
    }

    // No fields of parameter type: TorchSharp would register them a second time under their field names.

    /// <summary>A (r, in).</summary>
    public Parameter A => get_parameter(AName)!;

    /// <summary>B (out, r).</summary>
    public Parameter B => get_parameter(BName)!;
}
