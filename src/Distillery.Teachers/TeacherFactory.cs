using System;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.Teachers.ChatClients;
using Distillery.Teachers.Local;
using Distillery.Teachers.OpenAi;
using Distillery.Teachers.Resilience;
using Microsoft.Extensions.AI;

namespace Distillery.Teachers;

/// <summary>Builds a teacher from a spec string, wrapped for retries and rate limits: retries outside, the rate limiter inside, so every attempt is counted.</summary>
public static class TeacherFactory
{
    /// <summary>The base URL used when neither <c>--base-url</c> nor <c>OPENAI_BASE_URL</c> is given.</summary>
    public const string DefaultOpenAiBaseUrl = "https://api.openai.com/v1";

    /// <summary>Creates the teacher a spec names (<c>openai:MODEL</c>, <c>llama2c:PATH</c>, <c>checkpoint:DIR</c>, <c>gguf:PATH</c>), wrapped for retries and rate limits;
    /// a bad spec, URL, file or missing key is an <see cref="InputException"/>. Local teachers load their model here.</summary>
    public static async Task<ITeacher> CreateAsync(string spec, TeacherSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        var parsed = ModelSpec.Parse(spec, "--teacher");
        ITeacher teacher = parsed.Kind == ModelKind.OpenAi
            ? CreateOpenAi(parsed.Target, settings)
            : await LocalTeacher.LoadAsync(parsed, settings.ChatTemplate, cancellationToken);
        return Wrap(teacher, settings);
    }

    /// <summary>Any Microsoft.Extensions.AI chat client as a teacher (<see cref="ChatClientTeacher"/>), wrapped for retries and rate limits as <c>openai:</c> teachers are.</summary>
    public static ITeacher FromChatClient(IChatClient client, TeacherSettings settings, string? model = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Wrap(new ChatClientTeacher(client, settings.Timeout, model), settings, time);
    }

    /// <summary>Wraps any teacher with the settings' rate limits and retries, their waits timed by <paramref name="time"/> (the system clock by default).</summary>
    public static ITeacher Wrap(ITeacher teacher, TeacherSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(settings);
        // No limits, no limiter: it would only keep a minute of bookkeeping per request.
        var limited = settings.RequestsPerMinute == 0 && settings.TokensPerMinute == 0
            ? teacher
            : new RateLimitedTeacher(teacher, settings.RequestsPerMinute, settings.TokensPerMinute, settings.Statistics, time);
        return new RetryingTeacher(limited, settings.Retry, settings.Statistics, time);
    }

    private static OpenAiTeacher CreateOpenAi(string model, TeacherSettings settings)
    {
        var baseUrlText = settings.BaseUrl ?? Environment.GetEnvironmentVariable("OPENAI_BASE_URL");
        if (string.IsNullOrWhiteSpace(baseUrlText)) baseUrlText = DefaultOpenAiBaseUrl;
        if (!Uri.TryCreate(baseUrlText, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            throw InputException.InField(settings.BaseUrl is null ? "OPENAI_BASE_URL" : "--base-url", $"\"{baseUrlText}\" is not an http(s) URL; give one like https://api.openai.com/v1");
        var key = Environment.GetEnvironmentVariable(settings.ApiKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            // Servers on this machine (distill serve, llama.cpp, vLLM, Ollama) usually take no key; a remote API always does.
            if (!baseUrl.IsLoopback)
                throw InputException.InField(settings.ApiKeyVariable, "is not set; put the API key in this environment variable (Distillery never writes it anywhere)");
            key = "no-key";
        }
        return new OpenAiTeacher(model, baseUrl, key, settings.Timeout);
    }
}
