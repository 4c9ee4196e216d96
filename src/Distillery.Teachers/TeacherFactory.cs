using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.Teachers.Batch;
using Distillery.Teachers.ChatClients;
using Distillery.Teachers.Local;
using Distillery.Teachers.OpenAi;
using Distillery.Teachers.Pool;
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
        if (settings.EndpointsFile is { } file)
        {
            if (parsed.Kind != ModelKind.OpenAi) throw InputException.InField("--endpoints", $"serves API teachers (openai:MODEL), not {spec}");
            if (settings.BaseUrl is not null) throw InputException.InField("--endpoints", "and --base-url exclude each other: the endpoints file gives the base URLs");
            return Wrap(CreatePool(parsed.Target, EndpointPoolFile.Load(file), file, settings), settings);
        }
        ITeacher teacher = parsed.Kind == ModelKind.OpenAi
            ? CreateOpenAi(parsed.Target, settings)
            : await LocalTeacher.LoadAsync(parsed, settings.ChatTemplate, settings.Device, cancellationToken);
        return Wrap(teacher, settings);
    }

    /// <summary>A pool teacher for a model over the endpoints of a pool file, each endpoint with its own rate limiter timed by <paramref name="time"/>; a missing key is an <see cref="InputException"/> naming the file and field.</summary>
    public static PoolTeacher CreatePool(string model, EndpointPoolFile pool, string file, TeacherSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(settings);
        var endpoints = pool.Endpoints.Select((e, i) =>
        {
            var url = new Uri(e.BaseUrl);
            var key = ApiKey(url, e.ApiKeyEnv, $"{file}: endpoints[{i}].api_key_env");
            ITeacher teacher = new OpenAiTeacher(model, url, key, settings.Timeout);
            if (e.RequestsPerMinute > 0 || e.TokensPerMinute > 0)
                teacher = new RateLimitedTeacher(teacher, e.RequestsPerMinute, e.TokensPerMinute, settings.Statistics, time);
            return (e, teacher);
        }).ToList();
        return new PoolTeacher(pool.Name, model, endpoints, time);
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

    /// <summary>
    /// A teacher that scores text through <c>/v1/completions</c> (echoed prompt logprobs; see <see cref="CompletionScoringTeacher"/>) for an
    /// <c>openai:MODEL</c> spec, at the settings' base URL with their key, wrapped for retries and rate limits; a bad spec, URL or missing key is an <see cref="InputException"/>.
    /// </summary>
    public static ITeacher CreateScoring(string spec, TeacherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        var parsed = ModelSpec.Parse(spec, "--teacher");
        if (parsed.Kind != ModelKind.OpenAi) throw InputException.InField("--teacher", $"scoring through an API needs an openai:MODEL teacher, not {spec}");
        var (baseUrl, key) = Endpoint(settings);
        return Wrap(new CompletionScoringTeacher(parsed.Target, baseUrl, key, settings.Timeout), settings);
    }

    /// <summary>
    /// The <c>openai:MODEL</c> teacher through the Batch API (<see cref="BatchTeacher"/>) at the settings' base URL with their key, following the jobs
    /// of the ledger at <paramref name="ledgerLocation"/>; not wrapped for retries (a batch's failed requests go in the next batch instead). A bad spec,
    /// URL or missing key is an <see cref="InputException"/>.
    /// </summary>
    public static Task<BatchTeacher> CreateBatchAsync(string spec, TeacherSettings settings, string ledgerLocation, BatchSettings batch, TimeProvider? time = null,
        IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(settings);
        var parsed = ModelSpec.Parse(spec, "--teacher");
        if (parsed.Kind != ModelKind.OpenAi) throw InputException.InField("--batch", $"sends through the OpenAI Batch API: it needs an openai:MODEL teacher, not {spec}");
        if (settings.EndpointsFile is not null) throw InputException.InField("--batch", "and --endpoints exclude each other: a pool spreads single requests, while a batch file, its batch id and its answers live at the one provider that took it (resuming finds them there); give --base-url for --batch, or drop --batch to use the pool");
        var (baseUrl, key) = Endpoint(settings);
        return BatchTeacher.OpenAsync(parsed.Target, baseUrl, key, settings.Timeout, ledgerLocation, batch, time, progress, cancellationToken);
    }

    private static OpenAiTeacher CreateOpenAi(string model, TeacherSettings settings)
    {
        var (baseUrl, key) = Endpoint(settings);
        return new OpenAiTeacher(model, baseUrl, key, settings.Timeout);
    }

    /// <summary>The settings' base URL (else <c>OPENAI_BASE_URL</c>, else OpenAI's) and API key.</summary>
    private static (Uri BaseUrl, string Key) Endpoint(TeacherSettings settings)
    {
        var baseUrlText = settings.BaseUrl ?? Environment.GetEnvironmentVariable("OPENAI_BASE_URL");
        if (string.IsNullOrWhiteSpace(baseUrlText)) baseUrlText = DefaultOpenAiBaseUrl;
        if (!Uri.TryCreate(baseUrlText, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
            throw InputException.InField(settings.BaseUrl is null ? "OPENAI_BASE_URL" : "--base-url", $"\"{baseUrlText}\" is not an http(s) URL; give one like https://api.openai.com/v1");
        return (baseUrl, ApiKey(baseUrl, settings.ApiKeyVariable, settings.ApiKeyVariable));
    }

    /// <summary>The key in <paramref name="variable"/>; a loopback server may go without one, a remote API may not (an <see cref="InputException"/> at <paramref name="field"/>).</summary>
    private static string ApiKey(Uri baseUrl, string variable, string field)
    {
        var key = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(key)) return key;
        // Servers on this machine (distill serve, llama.cpp, vLLM, Ollama) usually take no key; a remote API always does.
        if (!baseUrl.IsLoopback)
            throw InputException.InField(field, $"{(field == variable ? "is" : variable + " is")} not set; put the API key in this environment variable (Distillery never writes it anywhere)");
        return "no-key";
    }
}
