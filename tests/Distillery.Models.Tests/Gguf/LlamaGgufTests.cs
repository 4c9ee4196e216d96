using System;
using System.IO;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Gguf;

[Collection(Stories260KCollection.Name)]
public sealed class LlamaGgufTests(Stories260K stories) : IDisposable
{
    private readonly ScratchFolder scratch = new("llama-gguf");

    private string _dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private static Tensor Logits(LlamaForCausalLM model, int[] ids)
    {
        using var noGrad = no_grad();
        return model.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]));
    }

    [Fact]
    public void Independently_converted_gguf_gives_the_llama2c_logits()
    {
        var (model, tokenizer) = LlamaGguf.Load(Stories260K.Path("stories260K/stories260K-f32.gguf"));
        using var _ = model;
        Assert.Equal(stories.Model.Config.ParameterCount, model.Config.ParameterCount);
        var ids = stories.Tokenizer.Encode("Once upon a time, there was a little dog named Max.", addBos: true).ToArray();
        Assert.Equal(ids, tokenizer.Encode("Once upon a time, there was a little dog named Max.", addBos: true));
        using var expected = Logits(stories.Model, ids);
        using var actual = Logits(model, ids);
        var diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff < 1e-5f, $"max |Δlogit| = {diff}");
    }

    [Fact]
    public void F32_export_then_load_is_bit_exact()
    {
        var path = Path.Combine(_dir, "s.gguf");
        LlamaGguf.Export(stories.Model, stories.Tokenizer, path, GgmlType.F32, "stories260K");
        var (model, tokenizer) = LlamaGguf.Load(path);
        using var _ = model;
        foreach (var ((name, a), (name2, b)) in stories.Model.named_parameters().Zip(model.named_parameters()))
        {
            Assert.Equal(name, name2);
            Assert.True(a.eq(b).all().item<bool>(), $"{name} differs after a GGUF round trip");
        }
        const string text = "Lily and Ben went to the park. They saw a big \"red\" ball!";
        Assert.Equal(stories.Tokenizer.Encode(text, addBos: true), tokenizer.Encode(text, addBos: true));
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true).Skip(1).ToList(), previousId: 1));
    }

    [Fact]
    public void F16_export_stays_within_half_precision_of_the_original()
    {
        var path = Path.Combine(_dir, "s16.gguf");
        LlamaGguf.Export(stories.Model, stories.Tokenizer, path, GgmlType.F16);
        Assert.True(new FileInfo(path).Length < 0.6 * new FileInfo(Stories260K.Path("stories260K/stories260K-f32.gguf")).Length);
        var (model, _) = LlamaGguf.Load(path);
        using var __ = model;
        var ids = stories.Tokenizer.Encode("Once upon a time", addBos: true).ToArray();
        using var expected = Logits(stories.Model, ids);
        using var actual = Logits(model, ids);
        var diff = (expected - actual).abs().max().item<float>();
        Assert.InRange(diff, 1e-7f, 0.05f); // rounded (so not identical), yet close
    }

    [Fact]
    public void Rotary_layout_conversions_invert_each_other_and_agree_with_the_llama2c_loader()
    {
        manual_seed(5);
        using var w = randn(4 * 8, 6); // 4 heads of 8
        using var halves = LlamaGguf.InterleavedToHalves(w, 4);
        using var back = LlamaGguf.HalvesToInterleaved(halves, 4);
        Assert.True(w.eq(back).all().item<bool>());
        var reference = Llama2cCheckpoint.InterleavedToHalves(w.data<float>().ToArray(), 4, 8, 6);
        Assert.Equal(reference, halves.data<float>().ToArray());
    }

    [Fact]
    public void Non_llama_architecture_is_a_one_line_error()
    {
        var path = Path.Combine(_dir, "x.gguf");
        new GgufWriter().Add("general.architecture", "mamba").Add("tokenizer.ggml.tokens", new[] { "a" }).Write(path);
        var e = Assert.Throws<InputException>(() => LlamaGguf.Load(path));
        Assert.Equal($"{path}: architecture 'mamba' is not supported; Distillery reads llama, qwen2, qwen3 GGUF files", e.Message);
    }
}
