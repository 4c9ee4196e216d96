using System;
using System.Linq;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using Distillery.Models.Lora;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Llama;

/// <summary>The fused batch decoder against the model's own forward pass, on every architecture variant the snapshot covers.</summary>
public sealed class BatchDecoderTests
{
    private static readonly int[][] Prompts = [[1, 7, 9], [1, 44, 5, 201, 17, 3], [1, 250, 12, 8]];

    private static LlamaConfig ConfigOf(string kind) => kind switch
    {
        "qwen2" => TinyConfigs.Qwen2(),
        "qwen3" => TinyConfigs.Qwen3(),
        "llama3" => TinyConfigs.Llama3(),
        "wide" => TinyConfigs.Gqa() with { HiddenSize = 128, IntermediateSize = 96 }, // rotate_half computed, not stored
        _ => TinyConfigs.Gqa(),
    };

    private static float[] LogSoftmax(float[] logits, int rows)
    {
        using var t = tensor(logits, [rows, logits.Length / rows]).log_softmax(1);
        return t.data<float>().ToArray();
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("llama3")]
    [InlineData("wide")]
    public void Fused_steps_give_the_forward_passs_log_probs_for_every_row_and_position(string kind)
    {
        var config = ConfigOf(kind);
        using var model = LlamaForCausalLM.Create(config, seed: 3);
        const int rows = 3, prefill = 4, length = 12;
        using var g = new Generator(5);
        using var idsTensor = randint(0, config.VocabSize, [rows, length], generator: g, dtype: ScalarType.Int64); // (B, T)
        var ids = idsTensor.data<long>().ToArray();
        long[] Column(int t) => [.. Enumerable.Range(0, rows).Select(r => ids[r * length + t])];
        long[] Prefix() => [.. Enumerable.Range(0, rows).SelectMany(r => ids.Skip(r * length).Take(prefill))];

        using var fused = LlamaBatchDecoder.Snapshot(model, rows, length);
        using var reference = new ModuleBatchDecoder(model, rows, length);
        float[] a = new float[rows * config.VocabSize], b = new float[rows * config.VocabSize];
        fused.Prefill(Prefix(), prefill, a);
        reference.Prefill(Prefix(), prefill, b);
        for (var t = prefill; t < length; t++)
        {
            fused.Step(Column(t), a);
            reference.Step(Column(t), b);
            var gap = LogSoftmax(a, rows).Zip(LogSoftmax(b, rows), (x, y) => Math.Abs(x - y)).Max();
            Assert.True(gap < 1e-4f, $"{kind}: log-probs differ by {gap} at position {t}");
        }
        Assert.Equal(length, fused.Cache.Length);
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("qwen3")]
    public void Greedy_batch_sampling_gives_the_same_ids_through_the_fused_decoder_and_the_forward_pass(string kind)
    {
        var config = ConfigOf(kind);
        using var model = LlamaForCausalLM.Create(config, seed: 8);
        var fused = BatchSampler.Sample(model, Prompts, 20, 0.0, new Random(0), []);
        var reference = BatchSampler.Sample(config, (rows, capacity) => new ModuleBatchDecoder(model, rows, capacity), Prompts, 20, 0.0, new Random(0), []);
        Assert.Equal(reference, fused);
        Assert.All(fused, row => Assert.Equal(20, row.Length));
    }

    [Fact]
    public void Attached_lora_adapters_are_decoded_as_their_hooks_compute_them()
    {
        var config = TinyConfigs.Gqa();
        using var model = LlamaForCausalLM.Create(config, seed: 4);
        var plain = BatchSampler.Sample(model, Prompts, 16, 0.0, new Random(0), []);
        using var adapters = LoraAdapters.Attach(model, new LoraSettings { Rank = 4, Alpha = 8, Targets = LoraTarget.Names }, seed: 2);
        using (var generator = new Generator(5))
        using (no_grad())
            foreach (var (name, p) in adapters.named_parameters())
                if (name.EndsWith(LoraAdapter.BName, StringComparison.Ordinal)) p.normal_(0, 0.3, generator);

        var fused = BatchSampler.Sample(model, Prompts, 16, 0.0, new Random(0), []);
        var hooked = BatchSampler.Sample(config, (rows, capacity) => new ModuleBatchDecoder(model, rows, capacity), Prompts, 16, 0.0, new Random(0), []);
        Assert.Equal(hooked, fused);
        Assert.NotEqual(plain, fused); // the adapters change what is sampled

        adapters.Merge(); // the weights now hold the adapters and the hooks are gone: nothing is added twice
        Assert.Equal(hooked, BatchSampler.Sample(model, Prompts, 16, 0.0, new Random(0), []));
    }
}
