using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Evaluation.Metrics;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Tests.Metrics;

public sealed class SampleLevelReverseKlTests
{
    private static Task<ModelBundle> TeacherAsync() => ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"));

    [Fact]
    public async Task AModelAgainstItselfIsZero()
    {
        using var teacher = await TeacherAsync();
        var prompts = new[] { new[] { 1 }, new[] { 1, 403, 261 } };
        var kl = SampleLevelReverseKl.Measure(teacher.Model, teacher.Model, prompts, teacher.Tokenizer.StopIds, 12, seed: 3);
        Assert.NotNull(kl);
        Assert.Equal(0, kl!.Value, 6);
    }

    [Fact]
    [Trait("Speed", "Slow")]
    public async Task OneTokenSamplesAverageToTheExactKlOfTheFirstPosition()
    {
        // With one sampled token per prompt, the estimate is a Monte Carlo mean of log q(y) − log p(y), y ~ q, whose
        // expectation KL(q ‖ p) and variance are computed exactly from the two distributions.
        using var teacher = await TeacherAsync();
        using var student = LlamaForCausalLM.Create(teacher.Config, seed: 7);
        const int n = 400;
        var prompts = Enumerable.Repeat(new[] { 1, 403 }, n).ToArray();
        var estimate = SampleLevelReverseKl.Measure(student, teacher.Model, prompts, [], 1, seed: 5, batchSize: 400)!.Value;

        using var _ = no_grad();
        var input = tensor(new long[] { 1, 403 }, [1, 2]);
        var logQ = student.forward(input)[0, -1].to(ScalarType.Float64).log_softmax(-1);
        var logP = teacher.Model.forward(input)[0, -1].to(ScalarType.Float64).log_softmax(-1);
        var q = logQ.exp();
        var diff = logQ - logP;
        var exact = (q * diff).sum().item<double>();
        var sd = Math.Sqrt((q * diff.square()).sum().item<double>() - exact * exact);
        Assert.True(exact > 0.5, $"exact KL {exact}");
        Assert.InRange(estimate, exact - 4 * sd / Math.Sqrt(n), exact + 4 * sd / Math.Sqrt(n));
    }
}
