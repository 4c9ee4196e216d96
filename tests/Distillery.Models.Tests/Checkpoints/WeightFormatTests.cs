using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Checkpoints;

/// <summary>Model folders in float32, float16 and bfloat16, in one file or in shards with their index.</summary>
public sealed class WeightFormatTests : IDisposable
{
    private readonly ScratchFolder scratch = new("weight-formats");

    public void Dispose() => scratch.Dispose();

    private static Tensor Logits(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 5, 17, 42, 7, 250, 3, 99, 12 }, [1, 8]);
        return model.forward(ids);
    }

    private static LlamaForCausalLM Random(LlamaConfig config)
    {
        var model = LlamaForCausalLM.Create(config, seed: 11);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.normal_(1, 0.2);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.normal_(0, 0.5);
        return model;
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("qwen2")]
    public async Task A_bf16_folder_and_the_f32_folder_made_by_upcasting_it_give_identical_logits(string kind)
    {
        using var model = Random(kind == "qwen3" ? TinyConfigs.Qwen3() : TinyConfigs.Qwen2());
        var bf16 = scratch.File("bf16");
        await CheckpointFolder.SaveAsync(bf16, model, dtype: ScalarType.BFloat16);
        Assert.Equal("bfloat16", (await LlamaConfig.LoadAsync(Path.Combine(bf16, "config.json"))).TorchDtype);
        var stored = SafeTensors.Open(Path.Combine(bf16, CheckpointFolder.WeightsFile));
        using (var embed = stored.Read("model.embed_tokens.weight")!) Assert.Equal(ScalarType.BFloat16, embed.dtype);

        // The upcast is done outside Distillery's loader: each stored bf16 tensor widened to f32 and written again.
        var f32 = scratch.File("f32");
        Directory.CreateDirectory(f32);
        File.Copy(Path.Combine(bf16, "config.json"), Path.Combine(f32, "config.json"));
        var upcast = stored.Names.Select(n => System.Collections.Generic.KeyValuePair.Create(n, stored.Read(n)!.to(ScalarType.Float32))).ToList();
        SafeTensors.Write(Path.Combine(f32, CheckpointFolder.WeightsFile), upcast);
        foreach (var (_, t) in upcast) t.Dispose();

        using var fromBf16 = await CheckpointFolder.LoadAsync(bf16);
        using var fromF32 = await CheckpointFolder.LoadAsync(f32);
        using var a = Logits(fromBf16);
        using var b = Logits(fromF32);
        Assert.True(a.eq(b).all().item<bool>(), "bf16 and its f32 upcast give different logits");
        using var original = Logits(model);
        var rounding = (a - original).abs().max().item<float>();
        Assert.InRange(rounding, 1e-6f, 0.1f); // bf16 rounds the weights (8 bits of mantissa), so not equal to the f32 model
    }

    [Fact]
    public async Task An_f16_folder_loads_the_weights_rounded_to_half_precision()
    {
        using var model = Random(TinyConfigs.Gqa());
        var dir = scratch.File("f16");
        await CheckpointFolder.SaveAsync(dir, model, dtype: ScalarType.Float16);
        using var loaded = await CheckpointFolder.LoadAsync(dir);
        foreach (var ((name, expected), (_, actual)) in model.named_parameters().Zip(loaded.named_parameters()))
        {
            using var rounded = expected.detach().to(ScalarType.Float16).to(ScalarType.Float32);
            Assert.True(rounded.eq(actual).all().item<bool>(), $"{name} is not the f16 rounding of the original");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_sharded_folder_gives_the_logits_of_the_same_weights_in_one_file(bool tied)
    {
        using var model = Random(TinyConfigs.Gqa(tied));
        var single = scratch.File($"single-{tied}");
        var sharded = scratch.File($"sharded-{tied}");
        await CheckpointFolder.SaveAsync(single, model);
        await CheckpointFolder.SaveAsync(sharded, model, maxShardBytes: 20_000);
        Assert.False(File.Exists(Path.Combine(sharded, CheckpointFolder.WeightsFile)));
        var index = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(sharded, CheckpointFolder.IndexFile)))!;
        var shards = index["weight_map"]!.AsObject().Select(kv => kv.Value!.ToString()).Distinct().ToList();
        Assert.True(shards.Count >= 3, $"expected several shards, got {shards.Count}");
        Assert.All(shards, s => Assert.Matches(@"^model-\d{5}-of-\d{5}\.safetensors$", s));

        using var a = await CheckpointFolder.LoadAsync(single);
        using var b = await CheckpointFolder.LoadAsync(sharded);
        using var la = Logits(a);
        using var lb = Logits(b);
        using var lm = Logits(model);
        Assert.True(la.eq(lb).all().item<bool>(), "sharded and single-file logits differ");
        Assert.True(la.eq(lm).all().item<bool>(), "the saved f32 weights do not give the model's logits");
    }

    [Fact]
    public async Task Shards_that_disagree_with_their_index_are_a_one_line_error_naming_the_tensor()
    {
        using var model = Random(TinyConfigs.Gqa());
        var dir = scratch.File("bad-index");
        await CheckpointFolder.SaveAsync(dir, model, maxShardBytes: 20_000);
        var indexPath = Path.Combine(dir, CheckpointFolder.IndexFile);
        var original = await File.ReadAllTextAsync(indexPath);
        var map = JsonNode.Parse(original)!["weight_map"]!.AsObject();
        // A tensor whose shard holds others too, so the shard is still read when the index leaves the tensor out.
        var (name, shard) = map.GroupBy(kv => kv.Value!.ToString()).Where(g => g.Count() > 1).Select(g => (g.First().Key, g.Key)).First();
        var other = map.Select(kv => kv.Value!.ToString()).First(s => s != shard);

        // The index names the wrong shard for a tensor.
        await File.WriteAllTextAsync(indexPath, original.Replace($"\"{name}\": \"{shard}\"", $"\"{name}\": \"{other}\"", StringComparison.Ordinal));
        var e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Equal($"{indexPath}: weight_map puts '{name}' in {other}, which does not hold it; the shards disagree with their index", e.Message);

        // A shard holds a tensor the index leaves out.
        var without = JsonNode.Parse(original)!;
        without["weight_map"]!.AsObject().Remove(name);
        await File.WriteAllTextAsync(indexPath, without.ToJsonString());
        e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Equal($"{indexPath}: {shard} holds '{name}', which weight_map does not place there; the shards disagree with their index", e.Message);

        // The index names a shard that is not there.
        await File.WriteAllTextAsync(indexPath, original.Replace($"\"{name}\": \"{shard}\"", $"\"{name}\": \"model-00009-of-00009.safetensors\"", StringComparison.Ordinal));
        e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Equal($"{indexPath}: weight_map puts '{name}' in model-00009-of-00009.safetensors, which does not exist", e.Message);
    }
}
