using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using static TorchSharp.torch;

namespace Distillery.Models.Checkpoints;

/// <summary>
/// A model folder's weights: one <c>model.safetensors</c>, or shards listed by <c>model.safetensors.index.json</c>
/// (<c>weight_map</c>: tensor name → shard file), as transformers writes them. Shards must agree with their index.
/// </summary>
public static class ShardedWeights
{
    /// <summary>The single-file weights name.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The sharded weights index name.</summary>
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Opens the folder's weights (headers only) and maps each tensor name to the file that holds it.</summary>
    public static async Task<IReadOnlyDictionary<string, SafeTensors>> OpenAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
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
            map = JsonNode.Parse(await File.ReadAllTextAsync(index, cancellationToken))?["weight_map"] as JsonObject;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw InputException.InFile(index, $"is not valid JSON ({ErrorText.FirstLine(e)})");
        }
        if (map is null) throw InputException.InFile(index, "field 'weight_map' is missing or not an object of tensor name → shard file");
        var shards = new Dictionary<string, SafeTensors>(StringComparer.Ordinal);
        foreach (var (name, shardNode) in map)
        {
            var shard = (shardNode as JsonValue)?.TryGetValue<string>(out var s) == true ? s : throw InputException.InFile(index, $"weight_map entry '{name}' names no shard file");
            if (shard.Contains('/', StringComparison.Ordinal) || shard.Contains('\\', StringComparison.Ordinal) || shard is "." or "..")
                throw InputException.InFile(index, $"weight_map entry '{name}' names '{shard}'; shards must be files beside the index");
            if (!shards.TryGetValue(shard, out var file))
            {
                var path = Path.Combine(directory, shard);
                if (!File.Exists(path)) throw InputException.InFile(index, $"weight_map puts '{name}' in {shard}, which does not exist");
                shards[shard] = file = SafeTensors.Open(path);
            }
            if (!file.Contains(name)) throw InputException.InFile(index, $"weight_map puts '{name}' in {shard}, which does not hold it; the shards disagree with their index");
            byName[name] = file;
        }
        foreach (var (shard, file) in shards)
            foreach (var name in file.Names)
                if (!ReferenceEquals(byName.GetValueOrDefault(name), file))
                    throw InputException.InFile(index, $"{shard} holds '{name}', which weight_map does not place there; the shards disagree with their index");
        return byName;
    }

    /// <summary>
    /// Writes tensors as one <c>model.safetensors</c>, or, where they exceed <paramref name="maxShardBytes"/>, as
    /// <c>model-0000i-of-0000n.safetensors</c> shards (in name order, whole tensors) with their index.
    /// </summary>
    public static void Write(string directory, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxShardBytes, 1);
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long size = 0, total = 0;
        foreach (var kv in ordered)
        {
            var bytes = kv.Value.numel() * kv.Value.element_size();
            if (size > 0 && size + bytes > maxShardBytes)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(kv);
            size += bytes;
            total += bytes;
        }
        if (shards.Count == 1)
        {
            WriteAtomically(Path.Combine(directory, WeightsFile), ordered, metadata);
            return;
        }
        var map = new JsonObject();
        for (var i = 0; i < shards.Count; i++)
        {
            var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            WriteAtomically(Path.Combine(directory, name), shards[i], metadata);
            foreach (var kv in shards[i]) map[kv.Key] = name;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(directory, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    // A temporary name, then a move: an interrupted save never leaves a half-written file under the real name.
    private static void WriteAtomically(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var partial = path + ".partial";
        SafeTensors.Write(partial, tensors, metadata);
        File.Move(partial, path, overwrite: true);
    }
}
