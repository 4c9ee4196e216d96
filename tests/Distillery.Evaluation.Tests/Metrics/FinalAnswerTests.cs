using System.IO;
using System.Linq;
using System.Text.Json;
using Distillery.Evaluation.Metrics;
using Distillery.TestSupport.Files;

namespace Distillery.Evaluation.Tests.Metrics;

public sealed class FinalAnswerTests
{
    [Theory]
    [InlineData("She pays 3 * 2 = 6 dollars.\n#### 6", 6)]
    [InlineData("#### 1,234", 1234)]
    [InlineData("#### -3.5", -3.5)]
    [InlineData("So the answer is 42.", 42)]
    [InlineData("First 7, then 12 apples", 12)]
    public void Extracts_the_final_number(string text, double expected) =>
        Assert.Equal((decimal)expected, FinalAnswer.Extract(text));

    [Fact]
    public void No_number_gives_null_and_never_matches()
    {
        Assert.Null(FinalAnswer.Extract("no digits here"));
        Assert.False(FinalAnswer.Matches("no digits", "#### 5"));
    }

    [Fact]
    public void Every_gsm8k_test_reference_has_a_final_answer_that_matches_itself()
    {
        var path = SharedTestData.TryGet("gsm8k/test.jsonl");
        Assert.NotNull(path);
        var answers = File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("answer").GetString()!).ToList();
        Assert.Equal(1319, answers.Count);
        Assert.All(answers, a => Assert.NotNull(FinalAnswer.Extract(a)));
        Assert.Equal(1.0, FinalAnswer.Accuracy(answers.Select(a => (a, a)).ToList()));
        Assert.True(FinalAnswer.Accuracy(answers.Select((a, i) => (answers[(i + 1) % answers.Count], a)).ToList()) < 0.1);
    }
}
