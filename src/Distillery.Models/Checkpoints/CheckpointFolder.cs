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
    public const string WeightsFile = ShardedWeights.WeightsFile;

    /// <summary>The sharded weights index name.</summary>
    public const string IndexFile = ShardedWeights.IndexFile;

    /// <summary>The generation defaults transformers reads beside config.json.</summary>
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>Writes generation_config.json: the BOS and EOS ids transformers' <c>generate</c> uses (greedy by default, as Distillery is).</summary>
    public static Task WriteGenerationConfigAsync(string directory, LlamaConfig config, int? bosId, IReadOnlyList<int> eosIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(eosIds);
        var json = new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = config.BosTokenId ?? bosId,
            ["eos_token_id"] = eosIds.Count == 1 ? eosIds[0] : new JsonArray(eosIds.Select(id => (JsonNode?)id).ToArray()),
            ["max_length"] = config.MaxPositionEmbeddings,
        };
        return File.WriteAllTextAsync(Path.Combine(directory, GenerationConfigFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", cancellationToken);
    }


    /// <summary>
    /// Writes config.json, model.safetensors (HF names; a tied head is stored once, as the embedding) in float32, float16 or
    /// bfloat16, as shards with an index where they exceed <paramref name="maxShardBytes"/>, the tokenizer's files where one is
    /// given, and distillery.json where a lineage is given.
    /// </summary>
    public static async Task SaveAsync(string directory, LlamaForCausalLM model, ITextTokenizer? tokenizer = null, Lineage? lineage = null,
        CancellationToken cancellationToken = default, ScalarType dtype = ScalarType.Float32, long maxShardBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        var dtypeName = dtype switch
        {
            ScalarType.Float32 => "float32",
            ScalarType.Float16 => "float16",
            ScalarType.BFloat16 => "bfloat16",
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "model folders hold float32, float16 or bfloat16 weights"),
        };
        await (model.Config with { TorchDtype = dtypeName }).SaveAsync(Path.Combine(directory, ConfigFile), cancellationToken);
        await Task.Run(() =>
        {
            using var scope = NewDisposeScope();
            var tensors = model.named_parameters().Select(p => KeyValuePair.Create(p.name, dtype == ScalarType.Float32 ? (Tensor)p.parameter : p.parameter.detach().to(dtype))).ToList();
            ShardedWeights.Write(directory, tensors, maxShardBytes);
        }, cancellationToken);
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
        var files = await ShardedWeights.OpenAsync(directory, cancellationToken);
        CheckpointTensors.CheckFits(config, files.Values.Distinct().Sum(f => f.ValueCount), Path.Combine(directory, ConfigFile));
        var model = new LlamaForCausalLM(config);
        try
        {
            // One tensor at a time, in its stored dtype: the parameter's copy converts it, so a bf16 file never exists as f32 twice.
            var single = Path.Combine(directory, WeightsFile);
            CheckpointTensors.Assign(model, name => files.TryGetValue(name, out var file) ? file.Read(name) : null,
                File.Exists(single) ? single : Path.Combine(directory, IndexFile));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }
}
