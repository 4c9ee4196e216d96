using Distillery.Training.Language.Configuration;
using Distillery.Training.Losses;

namespace Distillery.Training.Tests.Language;

/// <summary>The KD weight each mode uses when none is given, as bench/results/kd-ablation.md chose it.</summary>
public sealed class DefaultAlphaTests
{
    [Theory]
    [InlineData(0, TopKTailPolicy.FoldTailIntoBucket, 1.0)]   // all stored alternatives (top-20 from an API)
    [InlineData(20, TopKTailPolicy.FoldTailIntoBucket, 1.0)]
    [InlineData(5, TopKTailPolicy.UniformTail, 1.0)]
    [InlineData(1, TopKTailPolicy.FoldTailIntoBucket, 0.5)]   // top-1 at α 1 fell below SFT
    [InlineData(4, TopKTailPolicy.UniformTail, 0.5)]
    [InlineData(20, TopKTailPolicy.Renormalize, 0.5)]         // a renormalised tail leaves the mass outside the top k free
    public void Top_k_weighs_kd_alone_from_five_alternatives_up(int topLogprobs, TopKTailPolicy tail, double expected)
    {
        var config = new LmTrainingConfig { Data = "d", Out = "o", Mode = LmMode.Topk, TopLogprobs = topLogprobs, TailPolicy = tail };
        Assert.Equal(expected, config.ResolvedAlpha);
        Assert.Equal(0.3, (config with { Alpha = 0.3 }).ResolvedAlpha);
    }

    [Fact]
    public void Other_modes_weigh_kd_alone_unless_an_api_teacher_scores_on_policy_samples()
    {
        Assert.Equal(1.0, new LmTrainingConfig { Data = "d", Out = "o", Mode = LmMode.Whitebox, TopLogprobs = 1 }.ResolvedAlpha);
        Assert.Equal(0.5, new LmTrainingConfig { Data = "d", Out = "o", Mode = LmMode.Onpolicy, Teacher = "openai:m" }.ResolvedAlpha);
    }
}
