using System;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Resilience;

namespace Distillery.Teachers;

/// <summary>How a teacher is reached and guarded: endpoint and key variable (API teachers), timeout, retries, rate limits.</summary>
public sealed record TeacherSettings
{
    /// <summary>The API base URL; null takes <c>OPENAI_BASE_URL</c>, then https://api.openai.com/v1.</summary>
    public string? BaseUrl { get; init; }

    /// <summary>A pool of endpoints (<c>--endpoints FILE</c>) that serves an API teacher instead of one base URL; null for none.</summary>
    public string? EndpointsFile { get; init; }

    /// <summary>The environment variable that holds the API key.</summary>
    public string ApiKeyVariable { get; init; } = "OPENAI_API_KEY";

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Retry policy for 429, 5xx, timeouts and dropped connections.</summary>
    public RetryOptions Retry { get; init; } = new();

    /// <summary>Requests per minute; 0 for no limit.</summary>
    public int RequestsPerMinute { get; init; }

    /// <summary>Tokens (prompt + completion) per minute; 0 for no limit.</summary>
    public int TokensPerMinute { get; init; }

    /// <summary>The chat template and template variables a local teacher uses; by default its own template.</summary>
    public ChatTemplateChoice ChatTemplate { get; init; } = ChatTemplateChoice.None;

    /// <summary>Where a local teacher runs; CPU by default.</summary>
    public DeviceSpec Device { get; init; } = DeviceSpec.Cpu;

    /// <summary>Counters the wrappers fill in.</summary>
    public TeacherStatistics Statistics { get; init; } = new();
}
