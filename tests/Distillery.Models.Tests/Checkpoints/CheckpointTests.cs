using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly ScratchFolder scratch = new("distillery-ckpt");

    private string dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private static Tensor PromptIds() => tensor(new long[] { 1, 403, 407, 261, 378 }, [1, 5]);

    [Fact]
    public async Task Legacy_and_version_1_llama2c_files_give_identical_logits()
    {
        using var legacy = await Llama2cCheckpoint.LoadAsync(Stories260K.Path("stories260K/stories260K.bin"));
        using var v1 = await Llama2cCheckpoint.LoadAsync(Stories260K.Path("stories260K/stories260K_v1.bin"));
        Assert.Equal(legacy.Config.ToJson(), v1.Config.ToJson());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Assert.True(legacy.forward(PromptIds()).equal(v1.forward(PromptIds())).all().item<bool>());
    }

    [Fact]
    public void Interleaved_rows_move_to_halves_within_each_head()
    {
        // 2 heads of hs 4, one input feature: rows (0 1 2 3 | 4 5 6 7) → (0 2 1 3 | 4 6 5 7).
        var w = Enumerable.Range(0, 8).Select(i => (float)i).ToArray();
        Assert.Equal(new float[] { 0, 2, 1, 3, 4, 6, 5, 7 }, Llama2cCheckpoint.InterleavedToHalves(w, 2, 4, 1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Save_then_load_is_bit_exact(bool qwen2)
    {
        using var model = LlamaForCausalLM.Create(qwen2 ? TinyConfigs.Qwen2() : TinyConfigs.Gqa(), seed: 12);
        var lineage = new Lineage { Mode = "sft", Steps = 3 };
        await CheckpointFolder.SaveAsync(dir, model, lineage: lineage);
        using var loaded = await CheckpointFolder.LoadAsync(dir);
        Assert.Equal(model.Config.ToJson(), loaded.Config.ToJson());
        var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.bytes.ToArray());
        foreach (var (name, p) in loaded.named_parameters())
            Assert.True(expected[name].AsSpan().SequenceEqual(p.bytes), $"{name} changed in the round trip");
        Assert.Equal(expected.Count, loaded.named_parameters().Count());
        Assert.Equal(lineage, (await LineageFile.ReadAsync(dir))! with { Datasets = lineage.Datasets, Teachers = lineage.Teachers });
    }

    [Fact]
    public async Task Loads_bf16_and_f16_shards_through_an_index()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 13);
        await model.Config.SaveAsync(Path.Combine(dir, CheckpointFolder.ConfigFile));
        var all = model.named_parameters().ToList();
        var half = all.Count / 2;
        var first = all.Take(half).Select(p => KeyValuePair.Create(p.name, p.parameter.to(ScalarType.BFloat16))).ToList();
        var second = all.Skip(half).Select(p => KeyValuePair.Create(p.name, p.parameter.to(ScalarType.Float16))).ToList();
        SafeTensors.Write(Path.Combine(dir, "model-00001-of-00002.safetensors"), first);
        SafeTensors.Write(Path.Combine(dir, "model-00002-of-00002.safetensors"), second);
        var map = new JsonObject();
        foreach (var (name, _) in first) map[name] = "model-00001-of-00002.safetensors";
        foreach (var (name, _) in second) map[name] = "model-00002-of-00002.safetensors";
        await File.WriteAllTextAsync(Path.Combine(dir, CheckpointFolder.IndexFile), new JsonObject { ["weight_map"] = map }.ToJsonString());

        using var loaded = await CheckpointFolder.LoadAsync(dir);
        var byName = loaded.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, t) in first.Concat(second))
            Assert.True(byName[name].equal(t.to(ScalarType.Float32)).all().item<bool>(), $"{name} was not loaded exactly from {t.dtype}");
    }

    [Fact]
    public async Task A_missing_tensor_is_a_one_line_error_naming_it()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 14);
        await model.Config.SaveAsync(Path.Combine(dir, CheckpointFolder.ConfigFile));
        SafeTensors.Write(Path.Combine(dir, CheckpointFolder.WeightsFile),
            model.named_parameters().Where(p => p.name != "model.layers.1.mlp.up_proj.weight").Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)));
        var e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_misshapen_tensor_is_a_one_line_error_naming_it_and_both_shapes()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 15);
        await model.Config.SaveAsync(Path.Combine(dir, CheckpointFolder.ConfigFile));
        SafeTensors.Write(Path.Combine(dir, CheckpointFolder.WeightsFile), model.named_parameters().Select(p =>
            KeyValuePair.Create(p.name, p.name == "model.layers.0.self_attn.k_proj.weight" ? zeros(32, 32) : (Tensor)p.parameter)));
        var e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Contains("'model.layers.0.self_attn.k_proj.weight' has shape [32, 32]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[16, 32]", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task An_unsupported_architecture_is_a_one_line_error_naming_it()
    {
        await File.WriteAllTextAsync(Path.Combine(dir, CheckpointFolder.ConfigFile), TinyConfigs.Gqa().ToJson().Replace("LlamaForCausalLM", "GPTNeoXForCausalLM", StringComparison.Ordinal));
        var e = await Assert.ThrowsAsync<InputException>(() => CheckpointFolder.LoadAsync(dir));
        Assert.Contains("GPTNeoXForCausalLM", e.Message, StringComparison.Ordinal);
        Assert.Contains("architectures", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_truncated_llama2c_file_is_a_one_line_error_naming_the_tensor()
    {
        var bytes = await File.ReadAllBytesAsync(Stories260K.Path("stories260K/stories260K.bin"));
        var path = Path.Combine(dir, "cut.bin");
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        var e = await Assert.ThrowsAsync<InputException>(() => Llama2cCheckpoint.LoadAsync(path));
        Assert.Contains("ends inside tensor 'model.layers.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
