using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace Distillery.Server.Tests;

/// <summary>Bad requests get OpenAI's error JSON with the right status and field, and the server keeps serving.</summary>
[Collection(ServedStoriesCollection.Name)]
public sealed class BadRequestTests(ServedStories served)
{
    private async Task<(HttpStatusCode Status, JsonElement Error)> PostAsync(string path, string body)
    {
        using var response = await served.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(json).RootElement.GetProperty("error").Clone());
    }

    [Theory]
    [InlineData("""{"model":"stories260K"}""", "messages")]
    [InlineData("""{"model":"stories260K","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"stories260K","messages":[]}""", "messages")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user"}]}""", "messages[0].content")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "temperature")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"max_tokens":1000000000}""", "max_tokens")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"top_logprobs":50,"logprobs":true}""", "top_logprobs")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"n":0}""", "n")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"top_p":0}""", "top_p")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"temperature":2.5}""", "temperature")]
    [InlineData("""{"model":"stories260K","messages":[{"role":"user","content":"x"}],"top_logprobs":-1,"logprobs":true}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""[1,2,3]""", "body")]
    [InlineData("""{"model": "stories260K", "messages": [""", "body")]
    public async Task Bad_chat_request_is_400_naming_the_field(string body, string field)
    {
        var (status, error) = await PostAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        await ServerStillAnswers();
    }

    [Theory]
    [InlineData("""{"model":"stories260K","prompt":"x","top_p":0}""", "top_p")]
    [InlineData("""{"model":"stories260K","prompt":"x","temperature":-1}""", "temperature")]
    [InlineData("""{"model":"stories260K","prompt":"x","logprobs":21}""", "logprobs")]
    public async Task Bad_completion_request_is_400_naming_the_field(string body, string field)
    {
        var (status, error) = await PostAsync("/v1/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, error.GetProperty("param").GetString());
        await ServerStillAnswers();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Completion_prompt_longer_than_the_context_is_400_context_length_exceeded(bool echoOnly)
    {
        // Far more words than the model's context holds; echo with max_tokens 0 only scores, and still cannot read it.
        var prompt = string.Join(' ', Enumerable.Repeat("Once upon a time", 800));
        var extra = echoOnly ? ""","echo":true,"logprobs":0,"max_tokens":0""" : ""","max_tokens":4""";
        var (status, error) = await PostAsync("/v1/completions", $$"""{"model":"stories260K","prompt":"{{prompt}}"{{extra}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        await ServerStillAnswers();
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var huge = new string('a', 200 * 1024);
        var (status, error) = await PostAsync("/v1/chat/completions", $$"""{"model":"stories260K","messages":[{"role":"user","content":"{{huge}}"}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("larger than", error.GetProperty("message").GetString());
        await ServerStillAnswers();
    }

    [Fact]
    public async Task Unknown_model_is_404_with_model_not_found()
    {
        var (status, error) = await PostAsync("/v1/completions", """{"model":"nope","prompt":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        using var get = await served.Http.GetAsync("/v1/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    private async Task ServerStillAnswers()
    {
        using var health = await served.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var ok = await served.Http.PostAsync("/v1/chat/completions",
            new StringContent("""{"model":"stories260K","messages":[{"role":"user","content":"Tom"}],"max_tokens":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
