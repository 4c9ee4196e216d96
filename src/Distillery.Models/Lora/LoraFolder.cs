using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.Models.Checkpoints;

namespace Distillery.Models.Lora;

/// <summary>
/// An adapter folder in PEFT's layout: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> (A and B of every adapted
/// linear, nothing of the base). <c>checkpoint:DIR</c> on such a folder loads the base and merges the adapters (see ModelLoader).
/// </summary>
public static class LoraFolder
{
    /// <summary>The adapter config's file name.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The adapter weights' file name.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Whether <paramref name="directory"/> holds adapters rather than a whole model.</summary>
    public static bool IsAdapterFolder(string directory) => File.Exists(Path.Combine(directory, ConfigFile));

    /// <summary>The config describing <paramref name="adapters"/> on the base named by <paramref name="baseSpec"/> whose weights hash to <paramref name="baseSha256"/>.</summary>
    public static LoraAdapterConfig Describe(LoraAdapters adapters, string baseSpec, string baseSha256)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        return new LoraAdapterConfig
        {
            Rank = adapters.Settings.Rank,
            Alpha = adapters.Settings.ResolvedAlpha,
            Targets = adapters.Settings.Targets,
            TargetModules = [.. System.Linq.Enumerable.Select(adapters.Settings.Targets, LoraTarget.ModuleName)],
            BaseModel = AbsoluteSpec(baseSpec),
            BaseModelSha256 = baseSha256,
            TrainableParameters = adapters.TrainableParameters,
        };
    }

    /// <summary>The spec with its path made absolute, so the folder finds its base from anywhere; a spec that is no file (<c>random:1</c>) stays as it is.</summary>
    public static string AbsoluteSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ModelSpec.TryParse(spec) is { IsLocal: true } parsed ? new ModelSpec(parsed.Kind, Path.GetFullPath(parsed.Target)).ToString() : spec;
    }

    /// <summary>Writes adapter_config.json.</summary>
    public static async Task WriteConfigAsync(string directory, LoraAdapterConfig config, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, ConfigFile), JsonSerializer.Serialize(config, JsonOptions) + "\n", cancellationToken);
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors (float32).</summary>
    public static async Task SaveAsync(string directory, LoraAdapters adapters, LoraAdapterConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        await WriteConfigAsync(directory, config, cancellationToken);
        await Task.Run(() => SafeTensors.Write(Path.Combine(directory, WeightsFile), adapters.PeftTensors()), cancellationToken);
    }

    /// <summary>Reads adapter_config.json, with a one-line error for a damaged file.</summary>
    public static async Task<LoraAdapterConfig> ReadConfigAsync(string directory, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(directory, ConfigFile);
        try
        {
            var config = JsonSerializer.Deserialize<LoraAdapterConfig>(await File.ReadAllTextAsync(path, cancellationToken))
                         ?? throw InputException.InFile(path, "is empty; expected PEFT's adapter config");
            if (config.PeftType != "LORA") throw InputException.InFile(path, $"peft_type {config.PeftType} is not LORA");
            return config;
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not an adapter config ({ErrorText.FirstLine(e)})");
        }
    }

    /// <summary>Copies the folder's A and B into <paramref name="adapters"/>; a missing or misshapen matrix is a one-line error naming it.</summary>
    public static void LoadWeights(string directory, LoraAdapters adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        var path = Path.Combine(directory, WeightsFile);
        if (!File.Exists(path)) throw InputException.InFile(path, "is missing; the adapter folder is incomplete");
        var file = SafeTensors.Open(path);
        if (adapters.Load(name => file.Read(name)) is { } bad)
            throw InputException.InFile(path, $"lacks '{bad}' or holds it in another shape than the base model and adapter_config.json imply");
    }

    /// <summary>Refuses a base whose weights are not those the adapters were trained on.</summary>
    public static void CheckBase(LoraAdapterConfig config, string actualSha256, string field)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!string.Equals(config.BaseModelSha256, actualSha256, StringComparison.Ordinal))
            throw InputException.InField(field, $"the base model {config.BaseModel} has changed since the adapters were trained (weights sha256 {Short(actualSha256)}, recorded {Short(config.BaseModelSha256)}); restore that base or train afresh");
    }

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
