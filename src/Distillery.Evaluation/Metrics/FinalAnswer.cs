using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace Distillery.Evaluation.Metrics;

/// <summary>Extracts and compares final numeric answers (GSM8K puts the reference after <c>####</c>).</summary>
public static partial class FinalAnswer
{
    /// <summary>The number after the last <c>####</c>, or else the last number in the text; null when there is none.</summary>
    public static decimal? Extract(string text)
    {
        var marker = text.LastIndexOf("####", System.StringComparison.Ordinal);
        var scope = marker >= 0 ? text[(marker + 4)..] : text;
        var matches = NumberPattern().Matches(scope);
        if (matches.Count == 0) return null;
        var raw = (marker >= 0 ? matches[0] : matches[^1]).Value.Replace(",", "", System.StringComparison.Ordinal).TrimEnd('.');
        return decimal.TryParse(raw, NumberStyles.Number, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>Whether a prediction's final number equals the reference's.</summary>
    public static bool Matches(string prediction, string reference) =>
        Extract(reference) is { } expected && Extract(prediction) is { } actual && actual == expected;

    /// <summary>The share of predictions whose final number matches their reference.</summary>
    public static double Accuracy(System.Collections.Generic.IReadOnlyList<(string Prediction, string Reference)> pairs) =>
        pairs.Count == 0 ? 0 : pairs.Count(p => Matches(p.Prediction, p.Reference)) / (double)pairs.Count;

    [GeneratedRegex(@"-?\d[\d,]*(\.\d+)?")]
    private static partial Regex NumberPattern();
}
