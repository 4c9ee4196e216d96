using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Errors;

namespace Distillery.Core.Tests.Chat;

public sealed class SamplingParametersTests
{
    [Fact]
    public void Defaults_and_the_limits_themselves_are_accepted()
    {
        Assert.Null(new SamplingParameters().FindProblem());
        Assert.Null(new SamplingParameters { Temperature = 0, TopP = 1e-9, MaxTokens = 1, TopLogprobs = 0 }.FindProblem());
        Assert.Null(new SamplingParameters { Temperature = 2, TopP = 1, TopK = 5, MaxTokens = 1_000_000, TopLogprobs = 20 }.FindProblem());
    }

    [Theory]
    [InlineData(-0.1, 1, 0, 16, 0, "temperature")]
    [InlineData(2.01, 1, 0, 16, 0, "temperature")]
    [InlineData(double.NaN, 1, 0, 16, 0, "temperature")]
    [InlineData(1, 0, 0, 16, 0, "top_p")]
    [InlineData(1, 1.5, 0, 16, 0, "top_p")]
    [InlineData(1, double.NaN, 0, 16, 0, "top_p")]
    [InlineData(1, 1, -1, 16, 0, "top_k")]
    [InlineData(1, 1, 0, 0, 0, "max_tokens")]
    [InlineData(1, 1, 0, 1_000_001, 0, "max_tokens")]
    [InlineData(1, 1, 0, 16, -1, "top_logprobs")]
    [InlineData(1, 1, 0, 16, 21, "top_logprobs")]
    public void A_value_outside_its_limit_is_named_by_its_field(double temperature, double topP, int topK, int maxTokens, int topLogprobs, string field)
    {
        var sampling = new SamplingParameters { Temperature = temperature, TopP = topP, TopK = topK, MaxTokens = maxTokens, TopLogprobs = topLogprobs };
        Assert.Equal(field, sampling.FindProblem()!.Field);
    }

    [Fact]
    public void Validate_names_the_json_field_or_the_command_line_option()
    {
        var sampling = new SamplingParameters { TopLogprobs = 500 };
        var json = Assert.Throws<InputException>(() => sampling.Validate());
        Assert.Equal("top_logprobs: must be between 0 and 20, got 500", json.Message);
        var cli = Assert.Throws<InputException>(() => sampling.Validate(SamplingFieldNaming.CommandLine));
        Assert.Equal("--top-logprobs: must be between 0 and 20, got 500", cli.Message);
    }

    [Fact]
    public void A_teacher_can_lower_the_top_logprobs_limit_but_not_raise_it()
    {
        var five = new SamplingParameters { TopLogprobs = 5 };
        Assert.Null(five.FindProblem(maxTopLogprobs: 5));
        Assert.Equal("top_logprobs", five.FindProblem(maxTopLogprobs: 4)!.Field);
        Assert.Equal("top_logprobs", new SamplingParameters { TopLogprobs = 21 }.FindProblem(maxTopLogprobs: 100)!.Field);
    }

    [Fact]
    public void Each_sample_of_a_seeded_request_has_its_own_seed_and_the_first_keeps_the_run_seed()
    {
        var seeded = new SamplingParameters { Temperature = 1, Seed = 1 };
        var seeds = Enumerable.Range(0, 50).Select(i => seeded.ForSample(i).Seed).ToList();

        Assert.Same(seeded, seeded.ForSample(0));
        Assert.Equal(50, seeds.Distinct().Count());
        Assert.DoesNotContain(new SamplingParameters { Seed = 2 }.ForSample(0).Seed, seeds.Skip(1)); // run seed 2 is not run seed 1's sample 1
        Assert.Equal(seeded with { Seed = seeds[7] }, seeded.ForSample(7));
        var unseeded = new SamplingParameters { Temperature = 1 };
        Assert.Same(unseeded, unseeded.ForSample(3)); // without a seed every request draws afresh anyway
    }
}
