namespace Distillery.Core.Chat;

/// <summary>How a sampling parameter is named to the user: as the JSON field (the server, files) or as the command-line option.</summary>
public enum SamplingFieldNaming
{
    /// <summary>The JSON field, such as <c>top_logprobs</c>.</summary>
    Json,

    /// <summary>The command-line option, such as <c>--top-logprobs</c>.</summary>
    CommandLine,
}

/// <summary>A sampling parameter outside its limits: the JSON field at fault and what is wrong with it.</summary>
/// <param name="Field">The JSON field name, such as <c>top_p</c>.</param>
/// <param name="Message">What is wrong, without the name, such as "must be above 0 and at most 1, got 0".</param>
public sealed record SamplingProblem(string Field, string Message)
{
    /// <summary>The command-line option for the field: <c>top_logprobs</c> is <c>--top-logprobs</c>.</summary>
    public string Option => "--" + Field.Replace('_', '-');

    /// <summary>The field's name under the given naming.</summary>
    public string Name(SamplingFieldNaming naming) => naming == SamplingFieldNaming.CommandLine ? Option : Field;
}
