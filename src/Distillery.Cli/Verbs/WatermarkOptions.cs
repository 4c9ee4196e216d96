using System;
using System.CommandLine;
using System.Globalization;
using Distillery.Core.Errors;
using Distillery.Models.Decoding;

namespace Distillery.Cli.Verbs;

/// <summary><c>--watermark-key-env</c>, <c>--watermark-gamma</c>, <c>--watermark-context</c> (and on serve <c>--watermark-delta</c>), the same on every verb that writes or reads the watermark.</summary>
internal sealed class WatermarkOptions
{
    private readonly Option<string?> keyEnv;
    private readonly Option<double> gamma = new("--watermark-gamma") { Description = "Share of the vocabulary that is green at each step", DefaultValueFactory = _ => 0.25 };
    private readonly Option<int> context = new("--watermark-context") { Description = "How many previous tokens seed the green list", DefaultValueFactory = _ => 1 };
    private readonly Option<double>? delta;

    /// <summary>The options; <paramref name="withDelta"/> adds <c>--watermark-delta</c> (only sampling needs it).</summary>
    public WatermarkOptions(string keyDescription, bool withDelta)
    {
        keyEnv = new Option<string?>("--watermark-key-env") { Description = keyDescription };
        if (withDelta) delta = new Option<double>("--watermark-delta") { Description = "Added to the green tokens' logits before sampling", DefaultValueFactory = _ => 2.0 };
    }

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(keyEnv);
        command.Options.Add(gamma);
        command.Options.Add(context);
        if (delta is not null) command.Options.Add(delta);
    }

    /// <summary>Whether the command line names a key variable.</summary>
    public bool Given(ParseResult parse) => parse.GetValue(keyEnv) is not null;

    /// <summary>The watermark the command line asks for, or null without <c>--watermark-key-env</c>; a missing key or a bad setting is an input error naming the option.</summary>
    public GreenListWatermark? Resolve(ParseResult parse)
    {
        if (parse.GetValue(keyEnv) is not { } variable) return null;
        var key = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(key)) throw InputException.InField("--watermark-key-env", $"the environment variable '{variable}' is not set");
        var g = parse.GetValue(gamma);
        if (!(g > 0 && g < 1)) throw InputException.InField("--watermark-gamma", $"{g.ToString(CultureInfo.InvariantCulture)} must lie strictly between 0 and 1");
        var h = parse.GetValue(context);
        if (h is < 1 or > 16) throw InputException.InField("--watermark-context", $"{h} must be between 1 and 16");
        var d = delta is null ? 0 : parse.GetValue(delta);
        if (!(d >= 0 && d <= 100)) throw InputException.InField("--watermark-delta", $"{d.ToString(CultureInfo.InvariantCulture)} must be between 0 and 100");
        return new GreenListWatermark(key, g, d, h);
    }
}
