using System;
using System.CommandLine;
using System.Globalization;
using Distillery.Core.Errors;
using Distillery.Teachers;
using Distillery.Teachers.Resilience;

namespace Distillery.Cli.Verbs;

/// <summary>How an API teacher is reached, guarded and booked, the same on every verb that asks one: base URL, key variable, timeout, retries, rate limits and the ledger.</summary>
internal sealed class ApiTeacherOptions
{
    /// <summary><c>--base-url</c>.</summary>
    public Option<string?> BaseUrl { get; } = new("--base-url") { Description = "API base URL (default: OPENAI_BASE_URL, then https://api.openai.com/v1)" };

    /// <summary><c>--api-key-env</c>.</summary>
    public Option<string> ApiKeyEnv { get; } = new("--api-key-env") { Description = "Environment variable holding the API key", DefaultValueFactory = _ => "OPENAI_API_KEY" };

    /// <summary><c>--timeout</c>.</summary>
    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds one attempt may take", DefaultValueFactory = _ => 120 };

    /// <summary><c>--max-retries</c>.</summary>
    public Option<int> MaxRetries { get; } = new("--max-retries") { Description = "Retries for 429, 5xx, timeouts and dropped connections", DefaultValueFactory = _ => 5 };

    /// <summary><c>--rpm</c>.</summary>
    public Option<int> Rpm { get; } = new("--rpm") { Description = "Most requests per minute (0: no limit)", DefaultValueFactory = _ => 0 };

    /// <summary><c>--tpm</c>.</summary>
    public Option<int> Tpm { get; } = new("--tpm") { Description = "Most tokens per minute (0: no limit)", DefaultValueFactory = _ => 0 };

    /// <summary><c>--ledger</c>.</summary>
    public Option<string?> Ledger { get; } = new("--ledger") { Description = "Ledger: a file, or postgres://user:password@host:port/database; processes sharing one split a job (default: ledger.db in the output folder)" };

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { BaseUrl, ApiKeyEnv, Timeout, MaxRetries, Rpm, Tpm, Ledger }) command.Options.Add(option);
    }

    /// <summary>The teacher settings the command line gives; a value out of range is an input error naming its option.</summary>
    public TeacherSettings Settings(ParseResult parse) => new()
    {
        BaseUrl = parse.GetValue(BaseUrl),
        ApiKeyVariable = parse.GetValue(ApiKeyEnv)!,
        Timeout = TimeSpan.FromSeconds(Check(parse.GetValue(Timeout), 0.001, 3600, "--timeout")),
        Retry = new RetryOptions { MaxRetries = (int)Check(parse.GetValue(MaxRetries), 0, 100, "--max-retries") },
        RequestsPerMinute = (int)Check(parse.GetValue(Rpm), 0, int.MaxValue, "--rpm"),
        TokensPerMinute = (int)Check(parse.GetValue(Tpm), 0, int.MaxValue, "--tpm"),
    };

    /// <summary>Throws an input error naming <paramref name="option"/> unless the value lies in [min, max].</summary>
    public static double Check(double value, double min, double max, string option)
    {
        if (double.IsNaN(value) || value < min || value > max)
            throw InputException.InField(option, $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}");
        return value;
    }
}
