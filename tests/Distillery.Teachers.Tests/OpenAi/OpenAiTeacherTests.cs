using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests.OpenAi;

public sealed class OpenAiTeacherTests
{
    private static TeacherRequest Ask(string prompt, int topK = 5, int maxTokens = 32) =>
        new([ChatMessage.System("be brief"), ChatMessage.User(prompt)], new SamplingParameters { Temperature = 0, MaxTokens = maxTokens, TopLogprobs = topK, Seed = 7 });

    [Fact]
    public async Task Completion_carries_text_tokens_top_k_usage_and_the_model_the_server_reports()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var teacher = TestTeachers.Raw(server);

        var completion = await teacher.CompleteAsync(Ask("the cat sat"));

        var expected = FakeOpenAiServer.CompletionTokens("the cat sat", 32);
        Assert.Equal(string.Concat(expected), completion.Text);
        Assert.Equal("echo sat cat the", completion.Text);
        Assert.Equal(expected, completion.Tokens.Select(t => t.Token));
        for (var i = 0; i < expected.Count; i++)
        {
            var token = completion.Tokens[i];
            Assert.Equal(FakeOpenAiServer.Logprob(i, 0), token.Logprob, 6);
            Assert.Equal(Encoding.UTF8.GetBytes(expected[i]).Select(b => (int)b), token.Bytes);
            Assert.Equal(5, token.TopLogprobs.Count);
            Assert.Equal(expected[i], token.TopLogprobs[0].Token);
            Assert.Equal(FakeOpenAiServer.Logprob(i, 4), token.TopLogprobs[4].Logprob, 6);
        }
        Assert.Equal("fake-gpt-2026-01-01", completion.Model);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal(new TokenUsage(2 + 3 + 3 + 3, 4), completion.Usage);
        Assert.Equal(new Distillery.Core.Provenance.TeacherIdentity("openai", "gpt-test", server.BaseUrl.ToString().TrimEnd('/')), teacher.Identity);

        var body = Assert.Single(server.Bodies);
        Assert.Equal("gpt-test", (string?)body["model"]);
        Assert.True((bool?)body["logprobs"]);
        Assert.Equal(5, (int?)body["top_logprobs"]);
        Assert.Equal(7, (int?)body["seed"]);
        Assert.Equal($"Bearer {TestTeachers.Key}", Assert.Single(server.Authorizations));
    }

    [Fact]
    public async Task Token_bytes_survive_non_ascii_text_and_max_tokens_gives_length()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var completion = await TestTeachers.Raw(server).CompleteAsync(Ask("naïve café 東京 x y z", topK: 2, maxTokens: 3));

        Assert.Equal(["echo", " z", " y"], completion.Tokens.Select(t => t.Token));
        Assert.Equal("length", completion.FinishReason);
        var all = await TestTeachers.Raw(server).CompleteAsync(Ask("naïve café 東京", topK: 2));
        var tokyo = all.Tokens.Single(t => t.Token == " 東京");
        Assert.Equal(new[] { 0x20, 0xE6, 0x9D, 0xB1, 0xE4, 0xBA, 0xAC }, tokyo.Bytes);
        Assert.Equal(" 東京", Encoding.UTF8.GetString(tokyo.Bytes.Select(b => (byte)b).ToArray()));
    }

    [Fact]
    public async Task Top_logprobs_above_twenty_is_refused_before_sending()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var e = await Assert.ThrowsAsync<TeacherException>(() => TestTeachers.Raw(server).CompleteAsync(Ask("hi", topK: 21)));
        Assert.Equal(TeacherFailureKind.Rejected, e.Kind);
        Assert.Equal(0, server.Received);
    }
}
