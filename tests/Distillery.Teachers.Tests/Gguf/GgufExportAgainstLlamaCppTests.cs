using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Models.Checkpoints;
using Distillery.Models.Decoding;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Teachers.Tests.Gguf;

/// <summary>Distillery's GGUF export, run by llama.cpp (an independent implementation), must reproduce Distillery's outputs.</summary>
[Trait("Speed", "Slow")]
public sealed class GgufExportAgainstLlamaCppTests : IDisposable
{
    private static readonly string[] Prompts = ["Once upon a time", "Lily and Ben went to the park.", "The little dog was sad because"];
    private readonly ScratchFolder scratch = new("gguf-llamacpp");
    private readonly LlamaForCausalLM model;
    private readonly Llama2cTokenizer tokenizer;

    private readonly Xunit.Abstractions.ITestOutputHelper output;

    public GgufExportAgainstLlamaCppTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        this.output = output;
        string Shared(string p) => SharedTestData.Get(p);
        model = Llama2cCheckpoint.LoadAsync(Shared("stories260K/stories260K.bin")).GetAwaiter().GetResult();
        tokenizer = Llama2cTokenizer.LoadAsync(Shared("stories260K/tok512.bin")).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        model.Dispose();
        scratch.Dispose();
    }

    private IReadOnlyList<int> DistilleryGreedy(IReadOnlyList<int> prompt, int n) =>
        TextGenerator.Generate(model, tokenizer, prompt, new SamplingParameters { Temperature = 0, MaxTokens = n }).TokenIds;

    [Fact]
    public void Llama_cpp_runs_the_f32_export_with_identical_tokens_greedy_output_and_logits()
    {
        var path = scratch.File("stories260K.gguf");
        LlamaGguf.Export(model, tokenizer, path, GgmlType.F32, "stories260K");
        using var llama = LlamaCppModel.Load(path);
        Assert.Equal(512, llama.VocabSize);
        foreach (var prompt in Prompts)
        {
            var ids = tokenizer.Encode(prompt, addBos: true);
            Assert.Equal(ids, llama.Tokenize(prompt));
            var ours = DistilleryGreedy(ids, 48);
            Assert.True(ours.Count >= 20, $"'{prompt}' ended after {ours.Count} tokens; pick a longer-running prompt");
            Assert.Equal(ours, llama.Greedy(ids, ours.Count));

            var sequence = ids.Concat(ours).ToArray();
            using var noGrad = no_grad();
            using var expected = model.forward(tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Length]));
            var reference = llama.Logits(sequence);
            var actual = expected[0].data<float>().ToArray();
            var maxDiff = 0f;
            for (var t = 0; t < sequence.Length; t++)
                for (var v = 0; v < 512; v++)
                    maxDiff = Math.Max(maxDiff, Math.Abs(actual[t * 512 + v] - reference[t][v]));
            this.output.WriteLine($"f32 '{prompt}': {ours.Count} greedy tokens identical, max |Δlogit| {maxDiff:E2}");
            Assert.True(maxDiff < 1e-3f, $"'{prompt}': max |Δlogit| between Distillery and llama.cpp = {maxDiff}");
        }
    }

    [Fact]
    public void Llama_cpp_runs_the_f16_export_close_to_the_f32_model()
    {
        var path = scratch.File("stories260K-f16.gguf");
        LlamaGguf.Export(model, tokenizer, path, GgmlType.F16, "stories260K");
        using var llama = LlamaCppModel.Load(path);
        var ids = tokenizer.Encode(Prompts[0], addBos: true);
        var ours = DistilleryGreedy(ids, 48);
        var sequence = ids.Concat(ours).ToArray();
        using var noGrad = no_grad();
        using var expected = model.forward(tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Length]));
        var actual = expected[0].data<float>().ToArray();
        var reference = llama.Logits(sequence);
        var maxDiff = 0f;
        for (var t = 0; t < sequence.Length; t++)
            for (var v = 0; v < 512; v++)
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[t * 512 + v] - reference[t][v]));
        // f16 keeps 11 significant bits (relative rounding 2^-11 ≈ 4.9e-4 per weight); through 5 layers and logits of
        // magnitude ~10 that compounds to a few 1e-2 at most. Measured here: see the assertion message.
        this.output.WriteLine($"f16: max |Δlogit| {maxDiff:E2}");
        Assert.True(maxDiff < 0.05f, $"max |Δlogit| f16 llama.cpp vs f32 Distillery = {maxDiff}");
        var greedy = llama.Greedy(ids, ours.Count);
        var agree = greedy.Zip(ours).TakeWhile(p => p.First == p.Second).Count();
        this.output.WriteLine($"f16: greedy agrees for {agree} of {ours.Count} tokens");
        Assert.True(agree >= 20, $"f16 greedy agrees for {agree} tokens");
    }
}
