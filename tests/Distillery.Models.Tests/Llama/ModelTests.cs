using System;
using System.Linq;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Llama;

public sealed class ModelTests
{
    private static Tensor Ids(params long[] ids) => tensor(ids, [1, ids.Length]);

    private static Tensor RandomIds(int b, int t, int vocab, int seed)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, vocab, [b, t], generator: g, dtype: ScalarType.Int64);
    }

    private static float MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData("gqa")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("wide")]
    public void Decoding_with_the_kv_cache_equals_recomputing_the_whole_sequence(string kind)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var config = kind switch
        {
            "qwen2" => TinyConfigs.Qwen2(),
            "qwen3" => TinyConfigs.Qwen3(),
            "llama3" => TinyConfigs.Llama3(),
            // Wide enough that the decoder computes rotate_half per token instead of storing rotated rows.
            "wide" => TinyConfigs.Gqa() with { HiddenSize = 128, IntermediateSize = 96 },
            _ => TinyConfigs.Gqa(),
        };
        using var model = LlamaForCausalLM.Create(config, seed: 3);
        var ids = RandomIds(1, 12, config.VocabSize, 5);
        var full = model.forward(ids); // (1, 12, V)

        // The module path: a 5-token prefill, a 3-token chunk (mask with an offset), then single tokens.
        using var cache = new KvCache(config, 1, 16);
        var parts = new[] { (0, 5), (5, 3), (8, 1), (9, 1), (10, 1), (11, 1) };
        foreach (var (start, length) in parts)
        {
            var step = model.Forward(ids.narrow(1, start, length), cache).Logits;
            Assert.True(MaxDiff(step, full.narrow(1, start, length)) < 1e-5f, $"cached logits differ at positions {start}..{start + length - 1}");
        }

        // The fused decoder: the prompt through prefill, the rest one token at a time.
        using var weights = new LlamaInferenceWeights(model);
        Assert.Equal(kind is not ("wide" or "qwen3"), weights.RotatedRows); // Qwen3's q/k norm comes before rotary
        using var decoder = new LlamaDecoder(weights, 16);
        var logits = new float[config.VocabSize];
        var list = ids[0].data<long>().ToArray().Select(i => (int)i).ToArray();
        decoder.Prefill(list[..4], logits);
        Assert.True(MaxDiff(tensor(logits), full[0, 3]) < 1e-4f, "prefill logits differ");
        for (var t = 4; t < list.Length; t++)
        {
            decoder.Step(list[t], logits);
            Assert.True(MaxDiff(tensor(logits), full[0, t]) < 1e-4f, $"decoder logits differ at position {t}");
        }
    }

    [Fact]
    public void Changing_a_later_token_never_changes_earlier_logits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var config = TinyConfigs.Gqa();
        using var model = LlamaForCausalLM.Create(config, seed: 4);
        var ids = RandomIds(1, 10, config.VocabSize, 6);
        var before = model.forward(ids);
        for (var changed = 1; changed < 10; changed += 3)
        {
            var other = ids.clone();
            other[0, changed] = tensor((ids[0, changed].item<long>() + 1) % config.VocabSize);
            var after = model.forward(other);
            Assert.Equal(0f, MaxDiff(before.narrow(1, 0, changed), after.narrow(1, 0, changed)));
            Assert.True(MaxDiff(before.narrow(1, changed, 1), after.narrow(1, changed, 1)) > 0, "the changed position's logits should change");
        }
    }

    [Fact]
    public void A_right_padded_batch_gives_each_sequence_its_own_logits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var config = TinyConfigs.Gqa();
        using var model = LlamaForCausalLM.Create(config, seed: 7);
        var a = RandomIds(1, 9, config.VocabSize, 8);
        var b = RandomIds(1, 5, config.VocabSize, 9);
        var padded = cat([b, zeros([1, 4], dtype: ScalarType.Int64)], 1);
        var batch = model.forward(cat([a, padded], 0)); // (2, 9, V)
        Assert.True(MaxDiff(batch[0], model.forward(a)[0]) < 1e-5f);
        Assert.True(MaxDiff(batch[1].narrow(0, 0, 5), model.forward(b)[0]) < 1e-5f);
    }

    [Fact]
    public void Hidden_states_are_the_embeddings_each_block_and_the_normed_output_and_gradients_reach_every_parameter()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfigs.Gqa();
        using var model = LlamaForCausalLM.Create(config, seed: 10);
        var ids = RandomIds(2, 6, config.VocabSize, 11);
        using var output = model.Forward(ids, outputHiddenStates: true);
        Assert.Equal([2L, 6, config.VocabSize], output.Logits.shape);
        Assert.Equal(config.NumHiddenLayers + 1, output.HiddenStates!.Count);
        Assert.All(output.HiddenStates, h => Assert.Equal([2L, 6, config.HiddenSize], h.shape));
        Assert.Equal(0f, MaxDiff(output.HiddenStates[0], model.Model.EmbedTokens.forward(ids)));
        Assert.Equal(0f, MaxDiff(nn.functional.linear(output.HiddenStates[^1], model.OutputWeight), output.Logits));

        var loss = nn.functional.cross_entropy(output.Logits.reshape(-1, config.VocabSize), ids.reshape(-1)) + output.HiddenStates[1].square().mean();
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient reached {name}");
    }

    [Fact]
    public void Rotary_tables_rotate_each_half_pair_by_position_times_frequency()
    {
        using var scope = NewDisposeScope();
        var (cos, sin) = Rotary.Tables(8, 4, 10000);
        // hs = 4: pairs (0, 2) at frequency 1 and (1, 3) at 10000^(-1/2) = 0.01.
        var x = tensor(new float[] { 1, 0, 0, 0 }).view(1, 4);
        var rotated = Rotary.Apply(x, cos.narrow(0, 3, 1), sin.narrow(0, 3, 1));
        Assert.Equal(MathF.Cos(3), rotated[0, 0].item<float>(), 5);
        Assert.Equal(MathF.Sin(3), rotated[0, 2].item<float>(), 5);
        Assert.Equal(0.01, Rotary.InverseFrequencies(4, 10000)[1], 12);
    }

    [Fact]
    public void Llama3_rope_scaling_slows_long_wavelengths_and_keeps_short_ones()
    {
        var scaling = System.Text.Json.Nodes.JsonNode.Parse("""{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}""")!.AsObject();
        var plain = Rotary.InverseFrequencies(128, 500000);
        var scaled = Rotary.InverseFrequencies(128, 500000, scaling);
        Assert.Equal(plain[0], scaled[0]);              // wavelength 2π < 8192/4: kept
        Assert.Equal(plain[63] / 8, scaled[63], 15);    // wavelength ≫ 8192: divided by the factor
        var mid = Enumerable.Range(0, 64).First(j => 2 * Math.PI / plain[j] is >= 2048 and <= 8192);
        Assert.InRange(scaled[mid], plain[mid] / 8, plain[mid]); // the band between is blended
    }
}
