using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>distill serve</c> renders chats with the model folder's own Jinja template and the run's template arguments.</summary>
public sealed class ServeVerbTests
{
    private const string Stories = "stories260K/stories260K.bin";

    // Upper-cased roles, trimmed contents, and a generation prompt that depends on a template argument.
    private const string Template = """
        {%- for m in messages %}
        {{- m.role | upper }}: {{ m.content | trim }}
        {% endfor %}
        {%- if add_generation_prompt %}{{ 'A:' if terse else 'ASSISTANT:' }}{% endif %}
        """;

    [Trait("Speed", "Slow")]
    [SharedDataFact(Stories)]
    public async Task A_chat_completion_over_HTTP_renders_the_folders_Jinja_template_with_the_template_arguments()
    {
        using var scratch = new ScratchFolder("serve-template");
        var folder = scratch.File("model");
        using (var bundle = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get(Stories)))
        {
            bundle.ChatTemplate = ChatTemplate.Parse(Template, "test.jinja");
            await bundle.SaveAsync(folder); // written the Hugging Face way, read back by serve
        }
        Assert.True(File.Exists(Path.Combine(folder, ChatTemplate.JinjaFileName)));

        var port = FreePort();
        using var stop = new CancellationTokenSource();
        var run = Distill.RunAsync(["serve", "--model", "checkpoint:" + folder, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--chat-template-arg", "terse=true"], stop.Token);
        string content;
        int promptTokens;
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") })
        {
            await WaitUntilReadyAsync(http, run);
            var request = """{"model": "model", "temperature": 0, "max_tokens": 8, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  Once upon a time  "}]}""";
            using var response = await http.PostAsync("v1/chat/completions", new StringContent(request, Encoding.UTF8, "application/json"));
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            promptTokens = json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        }
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, (await run).ExitCode);

        // The reference: the prompt written out by hand, through the same weights.
        const string expectedPrompt = "SYSTEM: Be brief.\nUSER: Once upon a time\nA:";
        using var reference = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get(Stories));
        Assert.Equal(reference.EncodePrompt(expectedPrompt).Count, promptTokens);
        Assert.Equal(reference.Generate(expectedPrompt, new SamplingParameters { Temperature = 0, MaxTokens = 8 }).Text, content);
    }

    [Fact]
    public async Task A_template_with_an_unsupported_construct_stops_serve_with_one_line_naming_it_and_its_line()
    {
        using var scratch = new ScratchFolder("serve-template");
        var path = scratch.File("bad.jinja");
        await File.WriteAllTextAsync(path, "{% for m in messages %}\n{{ m.content }}\n{% filter upper %}x{% endfilter %}{% endfor %}");
        var result = await Distill.RunAsync("serve", "--model", "llama2c:/no/such/model.bin", "--chat-template", path);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.Equal($"distill: {path}: chat template line 3: unsupported construct '{{% filter %}}'", line);
    }

    [Fact]
    public async Task A_bad_template_argument_stops_train_naming_the_option()
    {
        var result = await Distill.RunAsync("train", "--data", "/no/such/data", "--out", "/no/such/out", "--chat-template-arg", "enable_thinking");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.StartsWith("distill: --chat-template-arg: 'enable_thinking' is not NAME=VALUE", line, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, Task<CliResult> run)
    {
        for (var i = 0; i < 600; i++)
        {
            if (run.IsCompleted) Assert.Fail("serve ended early: " + (await run).Error);
            try
            {
                using var health = await http.GetAsync("health");
                if (health.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(100);
        }
        Assert.Fail("serve did not become ready in 60 s");
    }
}
