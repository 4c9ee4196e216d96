using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Models;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Models.Tests.Gguf;

/// <summary>GGUF export and Distillery's own reader for every family: the tensors, the config and the tokenizer come back.</summary>
public sealed class FamilyGgufTests : IDisposable
{
    private readonly ScratchFolder scratch = new("family-gguf");

    public void Dispose() => scratch.Dispose();

    private static void AssertSameWeights(LlamaForCausalLM expected, LlamaForCausalLM actual)
    {
        var names = expected.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(names, actual.named_parameters().Select(p => p.name).ToList());
        foreach (var ((name, a), (_, b)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(a.eq(b).all().item<bool>(), $"{name} differs after a GGUF round trip");
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("qwen2")]
    [InlineData("llama3")]
    public async Task A_tiny_model_of_each_architecture_round_trips_through_f32_gguf_bit_exactly(string kind)
    {
        var config = kind switch { "qwen3" => TinyConfigs.Qwen3(), "qwen2" => TinyConfigs.Qwen2() with { HiddenSize = 64, NumAttentionHeads = 4 }, _ => TinyConfigs.Llama3() };
        var tokenizer = await TokenizerData.LoadTok512Async();
        config = config with { VocabSize = tokenizer.VocabSize };
        using var model = RealFamilies.CreateRandom(config);
        var path = scratch.File($"{kind}.gguf");
        LlamaGguf.Export(model, tokenizer, path);
        using (var file = GgufFile.Open(path))
            Assert.Equal(kind == "llama3" ? "llama" : kind, file.Get<string>("general.architecture"));
        var (loaded, loadedTokenizer) = LlamaGguf.Load(path);
        using var _ = loaded;
        Assert.Equal(config.ModelType, loaded.Config.ModelType);
        Assert.Equal(config.QkNorm, loaded.Config.QkNorm);
        Assert.Equal(config.AttentionBias, loaded.Config.AttentionBias);
        Assert.Equal(config.HeadDim, loaded.Config.HeadDim);
        var expectedFrequencies = Rotary.InverseFrequencies(config.HeadDim, config.RopeTheta, config.RopeScaling);
        var actualFrequencies = Rotary.InverseFrequencies(loaded.Config.HeadDim, loaded.Config.RopeTheta, loaded.Config.RopeScaling);
        for (var j = 0; j < expectedFrequencies.Length; j++)
            Assert.True(Math.Abs(actualFrequencies[j] / expectedFrequencies[j] - 1) < 1e-6, $"inverse frequency {j}: {actualFrequencies[j]} against {expectedFrequencies[j]}");
        AssertSameWeights(model, loaded);
        Assert.Equal(tokenizer.Encode("Once upon a time", addBos: true), loadedTokenizer.Encode("Once upon a time", addBos: true));
    }

    [Fact]
    public void Llama3_rope_factors_read_back_as_the_published_scaling()
    {
        // Llama 3.2's own RoPE: θ = 500000, hs = 64, factor 32, low 1, high 4, original context 8192.
        var config = TinyConfigs.Llama3() with
        {
            HeadDimOverride = 64,
            RopeTheta = 500000,
            RopeScaling = new System.Text.Json.Nodes.JsonObject
            {
                ["factor"] = 32.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0, ["original_max_position_embeddings"] = 8192, ["rope_type"] = "llama3",
            },
        };
        var factors = RopeFrequencyFactors.Of(config)!;
        Assert.Equal(1f, factors[0]);   // the highest frequency is kept
        Assert.Equal(32f, factors[^1]); // the lowest is slowed by the factor
        var scaling = RopeFrequencyFactors.ToLlama3Scaling(factors, 64, 500000, 8192, "x.gguf")!;
        Assert.Equal(32.0, scaling["factor"]!.GetValue<double>());
        Assert.Equal(1.0, scaling["low_freq_factor"]!.GetValue<double>(), 4);
        Assert.Equal(4.0, scaling["high_freq_factor"]!.GetValue<double>(), 4);
        Assert.Null(RopeFrequencyFactors.ToLlama3Scaling(Enumerable.Repeat(1f, 32).ToArray(), 64, 500000, 8192, "x.gguf"));
    }

    [Fact]
    public async Task Q8_0_export_keeps_each_weight_within_half_a_quantisation_step()
    {
        var tokenizer = await TokenizerData.LoadTok512Async();
        var config = TinyConfigs.Qwen3() with { VocabSize = tokenizer.VocabSize };
        using var model = RealFamilies.CreateRandom(config);
        var f32 = scratch.File("q.f32.gguf");
        var q8 = scratch.File("q.q8_0.gguf");
        LlamaGguf.Export(model, tokenizer, f32);
        LlamaGguf.Export(model, tokenizer, q8, GgmlType.Q8_0);
        Assert.True(new FileInfo(q8).Length < 0.4 * new FileInfo(f32).Length, "Q8_0 should take about a quarter of F32's bytes");
        using (var file = GgufFile.Open(q8))
        {
            Assert.Equal(GgmlType.Q8_0, file.Tensors["blk.0.attn_q.weight"].Type);
            Assert.Equal(GgmlType.F32, file.Tensors["blk.0.attn_q_norm.weight"].Type);
            Assert.Equal(7u, file.Get<uint>("general.file_type"));
        }
        var (loaded, _) = LlamaGguf.Load(q8);
        using var __ = loaded;
        foreach (var ((name, a), (_, b)) in model.named_parameters().Zip(loaded.named_parameters()))
        {
            if (a.dim() == 1)
            {
                Assert.True(a.eq(b).all().item<bool>(), $"{name}: vectors stay F32");
                continue;
            }
            // Per block of 32 along a row: |w − q| ≤ d/2 with d = max|w|/127, plus the f16 rounding of d (2^-11 relative) times 127.
            using var blocks = a.detach().reshape(-1, 32);
            using var error = (blocks - b.detach().reshape(-1, 32)).abs().max(1).values;
            using var step = blocks.abs().max(1).values / 127;
            using var bound = step * (0.5 + 127 * Math.Pow(2, -11)) + 1e-12;
            Assert.True(error.le(bound).all().item<bool>(), $"{name}: a Q8_0 value is further than half a step from its weight");
            Assert.True(error.max().item<float>() > 0, $"{name}: Q8_0 should round");
        }
    }

    [Theory]
    [Trait("Speed", "Slow")]
    [MemberData(nameof(RealFamilies.Names), MemberType = typeof(RealFamilies))]
    public async Task A_real_family_round_trips_with_its_real_tokenizer(string family)
    {
        var (config, tokenizer) = await RealFamilies.LoadAsync(family);
        using var model = RealFamilies.CreateRandom(config);
        var path = scratch.File($"{family}.gguf");
        LlamaGguf.Export(model, tokenizer, path);
        var (loaded, loadedTokenizer) = LlamaGguf.Load(path);
        using var _ = loaded;
        AssertSameWeights(model, loaded);
        Assert.Equal(tokenizer.Encode(RealFamilies.Text, addBos: true), loadedTokenizer.Encode(RealFamilies.Text, addBos: true));
        Assert.Equal(tokenizer.StopIds.Order(), loadedTokenizer.StopIds.Order());
        Assert.Equal(tokenizer.BosId, loadedTokenizer.BosId);
    }
}
