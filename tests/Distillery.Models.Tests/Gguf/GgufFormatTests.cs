using System;
using System.IO;
using Distillery.Core.Errors;
using Distillery.Models.Gguf;
using Distillery.Models.Runtime;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Gguf;

public sealed class GgufFormatTests : IDisposable
{
    private readonly ScratchFolder scratch = new("gguf-tests");

    public GgufFormatTests() => TorchRuntime.EnsureLoaded();

    private string _dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void Reads_the_header_of_an_independently_written_llama_gguf()
    {
        var path = SharedTestData.TryGet("stories260K/stories260K-f32.gguf");
        Assert.NotNull(path);
        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Version);
        Assert.Equal("llama", file.Get<string>("general.architecture"));
        Assert.Equal(5, file.Get<int>("llama.block_count"));
        Assert.Equal(64, file.Get<int>("llama.embedding_length"));
        Assert.Equal(512, file.GetArray<string>("tokenizer.ggml.tokens").Length);
        Assert.Equal(new long[] { 512, 64 }, file.Tensors["token_embd.weight"].Shape);
        using var embedding = file.ReadTensor("token_embd.weight");
        Assert.Equal(new long[] { 512, 64 }, embedding.shape);
        Assert.True(embedding.abs().sum().item<float>() > 1f);
    }

    [Fact]
    public void Write_then_read_round_trips_metadata_and_tensors()
    {
        manual_seed(3);
        using var a = randn(3, 5);
        using var b = randn(7);
        var path = Path.Combine(_dir, "t.gguf");
        new GgufWriter()
            .Add("general.architecture", "llama").Add("x.count", 7u).Add("x.signed", -3).Add("x.eps", 1e-5f).Add("x.flag", true)
            .Add("x.tokens", new[] { "<s>", "a", "ü" }).Add("x.scores", new[] { 0f, -1.5f, 2f }).Add("x.types", new[] { 3, 1, 1 })
            .AddTensor("a", a, GgmlType.F32).AddTensor("b", b, GgmlType.F16)
            .Write(path);
        using var file = GgufFile.Open(path);
        Assert.Equal(7u, file.Get<uint>("x.count"));
        Assert.Equal(-3, file.Get<int>("x.signed"));
        Assert.Equal(1e-5f, file.Get<float>("x.eps"));
        Assert.True(file.Get<bool>("x.flag"));
        Assert.Equal(new[] { "<s>", "a", "ü" }, file.GetArray<string>("x.tokens"));
        Assert.Equal(new[] { 0f, -1.5f, 2f }, file.GetArray<float>("x.scores"));
        Assert.Equal(new[] { 3, 1, 1 }, file.GetArray<int>("x.types"));
        Assert.Equal(new[] { "a", "b" }, file.TensorOrder);
        Assert.Equal(0ul, file.Tensors["a"].Offset % 32);
        Assert.Equal(0ul, file.Tensors["b"].Offset % 32);
        using var a2 = file.ReadTensor("a");
        Assert.True(a.eq(a2).all().item<bool>(), "f32 must round-trip bit for bit");
        using var b2 = file.ReadTensor("b");
        Assert.True(allclose(b, b2, rtol: 1e-3, atol: 1e-3), "f16 keeps about 3 significant digits");
    }

    [Fact]
    public void Wrong_magic_is_a_one_line_error_naming_the_file()
    {
        var path = Path.Combine(_dir, "bad.gguf");
        File.WriteAllBytes(path, new byte[64]);
        var e = Assert.Throws<InputException>(() => GgufFile.Open(path));
        Assert.Equal($"{path}: not a GGUF file (wrong magic number)", e.Message);
    }

    [Fact]
    public void Truncated_file_is_reported_not_misread()
    {
        var source = SharedTestData.TryGet("stories260K/stories260K-f32.gguf")!;
        var path = Path.Combine(_dir, "cut.gguf");
        File.WriteAllBytes(path, File.ReadAllBytes(source).AsSpan(0, 200_000).ToArray());
        var e = Assert.Throws<InputException>(() => GgufFile.Open(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
