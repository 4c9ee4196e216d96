using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Models.Checkpoints;

/// <summary>
/// A model folder in the Hugging Face layout: <c>config.json</c>, <c>model.safetensors</c> (or shards with
/// <c>model.safetensors.index.json</c>), the tokenizer, and <c>distillery.json</c> (the model's lineage).
/// </summary>
public static class CheckpointFolder
{
    /// <summary>The config file name.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The single-file weights name.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The sharded weights index name.</summary>
    public const string IndexFile = "model.safetensors.index.json";


    /// <summary>
    /// Writes config.json, model.safetensors (float32, HF names; a tied head is stored once, as the embedding),
    /// the tokenizer's files where one is given, and distillery.json where a lineage is given.
    /// </summary>
    public static async Task SaveAsync(string directory, LlamaForCausalLM model, ITextTokenizer? tokenizer = null, Lineage? lineage = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        await (model.Config with { TorchDtype = "float32" }).SaveAsync(Path.Combine(directory, ConfigFile), cancellationToken);
        var tensors = model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)).ToList();
        // Write to a temporary name and move, so an interrupted save never leaves a half-written model.safetensors.
        var weights = Path.Combine(directory, WeightsFile);
        var partial = weights + ".partial";
        await Task.Run(() => SafeTensors.Write(partial, tensors, new Dictionary<string, string> { ["format"] = "pt" }), cancellationToken);
        File.Move(partial, weights, overwrite: true);
        if (tokenizer is not null) await tokenizer.SaveToFolderAsync(directory, cancellationToken);
        if (lineage is not null)
            await LineageFile.WriteAsync(directory, lineage, cancellationToken);
    }

    /// <summary>Loads config.json and the weights (single file or sharded; f32, f16 or bf16, converted to float32).</summary>
    public static async Task<LlamaForCausalLM> LoadAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Runtime.TorchRuntime.EnsureLoaded();
        if (!Directory.Exists(directory)) throw InputException.InFile(directory, "model folder not found");
        var config = await LlamaConfig.LoadAsync(Path.Combine(directory, ConfigFile), cancellationToken);
        var files = await OpenWeightsAsync(directory, cancellationToken);
        CheckpointTensors.CheckFits(config, files.Values.Distinct().Sum(f => f.ValueCount), Path.Combine(directory, ConfigFile));
        var model = new LlamaForCausalLM(config);
        try
        {
            CheckpointTensors.Assign(model, name =>
            {
                if (!files.TryGetValue(name, out var file)) return null;
                var stored = file.Read(name)!;
                if (stored.dtype == ScalarType.Float32) return stored;
                using (stored) return stored.to(ScalarType.Float32);
            }, files.Count > 0 ? files.Values.First().Path : directory);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    private static async Task<Dictionary<string, SafeTensors>> OpenWeightsAsync(string directory, CancellationToken cancellationToken)
    {
        var byName = new Dictionary<string, SafeTensors>(StringComparer.Ordinal);
        var single = Path.Combine(directory, WeightsFile);
        var index = Path.Combine(directory, IndexFile);
        if (File.Exists(single))
        {
            var file = SafeTensors.Open(single);
            foreach (var n in file.Names) byName[n] = file;
            return byName;
        }
        if (!File.Exists(index))
            throw InputException.InFile(directory, $"holds neither {WeightsFile} nor {IndexFile}; not a Hugging Face model folder");
        JsonObject? map;
        try
        {
            map = JsonNode.Parse(await File.ReadAllTextAsync(index, cancellationToken))?["weight_map"]?.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw InputException.InFile(index, $"is not valid JSON ({ErrorText.FirstLine(e)})");
        }
        if (map is null) throw InputException.InFile(index, "field 'weight_map' is missing");
        var shards = new Dictionary<string, SafeTensors>(StringComparer.Ordinal);
        foreach (var (name, shardNode) in map)
        {
            var shard = shardNode?.ToString() ?? throw InputException.InFile(index, $"weight_map entry '{name}' names no file");
            if (!shards.TryGetValue(shard, out var file))
                shards[shard] = file = SafeTensors.Open(Path.Combine(directory, shard));
            byName[name] = file;
        }
        return byName;
    }
}
