using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;
using Distillery.Models.Gguf;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Models;
using static TorchSharp.torch;

namespace Distillery.Teachers.Tests.Gguf;

/// <summary>
/// Each model family, random weights in its real config's shapes, exported to GGUF and run by llama.cpp (an independent
/// implementation of every family): its tokenizer, logits and greedy tokens must be Distillery's.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class RealFamiliesAgainstLlamaCppTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly ScratchFolder scratch = new("families-llamacpp");

    public void Dispose() => scratch.Dispose();

    [Theory]
    [MemberData(nameof(RealFamilies.Names), MemberType = typeof(RealFamilies))]
    public async Task Llama_cpp_tokenizes_decodes_and_scores_the_f32_export_as_Distillery_does(string family)
    {
        var (config, tokenizer) = await RealFamilies.LoadAsync(family);
        using var model = RealFamilies.CreateRandom(config);
        var path = scratch.File($"{family}.gguf");
        LlamaGguf.Export(model, tokenizer, path, GgmlType.F32, family);
        using var llama = LlamaCppModel.Load(path, contextSize: 128);
        Assert.Equal(config.VocabSize, llama.VocabSize);

        var ids = tokenizer.Encode(RealFamilies.Text, addBos: true);
        Assert.Equal(ids, llama.Tokenize(RealFamilies.Text));

        var prompt = tokenizer.Encode("Once upon a time", addBos: true);
        var ours = TextGenerator.Generate(model, tokenizer, prompt, new SamplingParameters { Temperature = 0, MaxTokens = 32 }).TokenIds;
        Assert.Equal(32, ours.Count);
        Assert.Equal(ours, llama.Greedy(prompt, 32));

        // The longest sequence the context holds, so that RoPE's low frequencies (which llama3 scaling changes) turn far enough to matter.
        var sequence = ids.Concat(ours).Concat(prompt).Concat(ours).Take(llama.ContextSize).ToArray();
        using var noGrad = no_grad();
        using var input = RealFamilies.Ids(sequence);
        using var logits = model.forward(input);
        var actual = logits[0].data<float>().ToArray();
        var reference = llama.Logits(sequence);
        var (maxDiff, scale) = (0f, 0f);
        for (var t = 0; t < sequence.Length; t++)
            for (var v = 0; v < config.VocabSize; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[t * config.VocabSize + v] - reference[t][v]));
                scale = Math.Max(scale, Math.Abs(reference[t][v]));
            }
        output.WriteLine($"{family}: {sequence.Length} positions, greedy 32/32 identical, max |Δlogit| {maxDiff:E2} (largest |logit| {scale:F2})");
        Assert.True(maxDiff < 1e-3f, $"{family}: max |Δlogit| between Distillery and llama.cpp = {maxDiff}");
        Assert.True(scale > 0.5f, $"{family}: logits too small ({scale}) to make the comparison meaningful");
        if (config.RopeScaling is not null)
        {
            // The check must be able to see the scaling: within 128 positions it moves the logits little (5.7e-4 here), but by
            // far more than Distillery and llama.cpp differ (1e-6), so the same weights without it are clearly further away.
            using var unscaled = new Distillery.Models.Llama.LlamaForCausalLM(config with { RopeScaling = null });
            var weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            Distillery.Models.Checkpoints.CheckpointTensors.Assign(unscaled, name => weights[name].clone(), "test");
            using var other = unscaled.forward(input);
            var without = other[0].data<float>().ToArray();
            var missed = 0f;
            for (var t = 0; t < sequence.Length; t++)
                for (var v = 0; v < config.VocabSize; v++)
                    missed = Math.Max(missed, Math.Abs(without[t * config.VocabSize + v] - reference[t][v]));
            output.WriteLine($"{family}: without RoPE scaling max |Δlogit| would be {missed:E2}");
            Assert.True(missed > 100 * maxDiff, $"{family}: without RoPE scaling llama.cpp is {missed} away, against {maxDiff} with it; the check cannot see the scaling");
        }
    }
}
