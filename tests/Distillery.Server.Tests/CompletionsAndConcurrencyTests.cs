using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;

namespace Distillery.Server.Tests;

[Collection(ServedStoriesCollection.Name)]
public sealed class CompletionsAndConcurrencyTests(ServedStories served)
{
    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Echo_with_logprobs_scores_the_prompt_like_the_model_does()
    {
        const string text = "Once upon a time, there was a big red ball.";
        using var response = await served.Http.PostAsync("/v1/completions", Json($$"""{"model":"stories260K","prompt":"{{text}}","echo":true,"logprobs":3,"max_tokens":0}"""));
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = doc.RootElement.GetProperty("choices")[0];
        Assert.Equal(text, choice.GetProperty("text").GetString());
        var logprobs = choice.GetProperty("logprobs");
        var tokenLogprobs = logprobs.GetProperty("token_logprobs").EnumerateArray().ToList();
        var ids = served.Bundle.EncodePrompt(text);
        Assert.Equal(ids.Count, tokenLogprobs.Count);
        Assert.Equal(JsonValueKind.Null, tokenLogprobs[0].ValueKind); // BOS has no prefix to be scored against
        var expected = TokenScoring.Score(served.Bundle.Model, served.Bundle.Tokenizer, ids);
        for (int i = 1; i < ids.Count; i++) Assert.Equal(expected[i - 1].Logprob, tokenLogprobs[i].GetDouble(), 5);
        Assert.Equal(3, logprobs.GetProperty("top_logprobs")[1].EnumerateObject().Count());
        Assert.Equal(ids.Count, doc.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Concurrent_requests_each_get_their_own_correct_answer()
    {
        string[] openings = ["Tom had a red car.", "The sun was hot.", "Mia loved to sing.", "A small bird sat on a tree.", "Ben found a box.", "The cat was hungry."];
        var tasks = openings.Select(async opening =>
        {
            using var r = await served.Http.PostAsync("/v1/chat/completions", Json($$"""{"model":"stories260K","messages":[{"role":"user","content":"{{opening}}"}],"temperature":0,"max_tokens":16}"""));
            r.EnsureSuccessStatusCode();
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            return (opening, text: doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }).ToList();
        foreach (var (opening, text) in await Task.WhenAll(tasks))
        {
            var expected = served.Bundle.GenerateChat([ChatMessage.User(opening)], new SamplingParameters { Temperature = 0, MaxTokens = 16 }).Text;
            Assert.Equal(expected, text);
        }
    }

    [Fact]
    public async Task Client_disconnect_cancels_the_generation()
    {
        var stats = served.Server.Stats;
        var (cancelledBefore, completionsBefore) = (stats.Cancelled, stats.Completions);
        using var cancel = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            // 16 sampled choices of up to 500 tokens, streamed one after another: seconds of work if nobody stops it.
            Content = Json("""{"model":"stories260K","messages":[{"role":"user","content":"Once"}],"max_tokens":500,"stream":true,"temperature":1,"seed":1,"n":16}"""),
        };
        // HttpClient drains an unread response (up to 1 MB) to reuse the connection; a client that hangs up does not.
        using var hangUp = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = served.Server.BaseAddress };
        using (var response = await hangUp.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(cancel.Token));
            cancel.Cancel(); // hang up mid-stream
        }
        // Wait until the server's counts stop moving.
        var clock = Stopwatch.StartNew();
        var last = (stats.Cancelled, stats.Completions);
        var stableSince = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(20) && (stableSince.Elapsed < TimeSpan.FromMilliseconds(500) || last == (cancelledBefore, completionsBefore)))
        {
            await Task.Delay(20);
            var now = (stats.Cancelled, stats.Completions);
            if (now != last) (last, stableSince) = (now, Stopwatch.StartNew());
        }
        var (cancelled, completed) = (stats.Cancelled - cancelledBefore, stats.Completions - completionsBefore);
        // The server notices the hang-up on its next writes, a choice or few later (each takes ~0.1 s here); the rest of the
        // 16 are never generated.
        Assert.True(cancelled + completed is >= 1 and <= 8 && cancelled <= 1,
            $"after the hang-up: {cancelled} generation(s) cancelled, {completed} completed of the 16 asked for");
    }
}
