using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Distillery.Evaluation.Reports;

/// <summary>The report's main table as text cells, shared by the console, Markdown and HTML renderings.</summary>
public static class ReportTable
{
    /// <summary>Column headers of the models table.</summary>
    public static IReadOnlyList<string> Headers { get; } =
        ["model", "params", "size", "CE", "ppl", "bits/B", "KL(T‖S)", "KL(S‖T)smp", "agree", "EM", "ms/tok", "smaller", "faster"];

    /// <summary>What the short headers mean, for a legend under the table.</summary>
    public const string Legend = "CE: cross-entropy on held-out text (nats/token; per-token figures compare only models of one tokenizer); bits/B: the same in bits per UTF-8 byte of the text (comparable across tokenizers); KL(T‖S): mean KL from the teacher per token, only for a model sharing the teacher's vocabulary; KL(S‖T)smp: sample-level reverse KL, the mean of log p_model − log p_teacher over the model's own samples at temperature 1 on the held-out prompts (what on-policy distillation minimises); agree: top-1 agreement with the teacher per token, or, marked †, on one-to-one chunks where the tokenizers differ; EM: exact final answers; ms/tok: greedy decoding, one stream; smaller/faster: against the teacher.";

    /// <summary>One row of cells per model; ratios are against the teacher where there is one.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Rows(IReadOnlyList<ModelScore> models)
    {
        var teacher = models.FirstOrDefault(m => m.Role == "teacher");
        return models.Select(m => (IReadOnlyList<string>)
        [
            m.Name,
            Count(m.Parameters),
            m.FileBytes is { } b ? Bytes(b) : "–",
            Num(m.CrossEntropy, "F3"),
            Num(m.Perplexity, "F2"),
            Num(m.BitsPerByte, "F3"),
            m.Role == "teacher" ? "0" : Num(m.KlToTeacher, "F3"),
            m.Role == "teacher" ? "0" : Num(m.SampleReverseKl, "F3"),
            m.Role == "teacher" ? "100%" : m.ChunkAgreement is { } chunks ? Percent(chunks) + "†" : Percent(m.Agreement),
            Percent(m.ExactMatch),
            Num(m.MsPerToken, "F2"),
            teacher is null || m.Parameters == 0 ? "–" : Ratio(teacher.Parameters / (double)m.Parameters),
            teacher?.MsPerToken is { } t && m.MsPerToken is { } s && s > 0 ? Ratio(t / s) : "–",
        ]).ToList();
    }

    private static string Num(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";

    private static string Percent(double? value) => value is { } v ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%" : "–";

    private static string Ratio(double value) => value.ToString("F1", CultureInfo.InvariantCulture) + "×";

    /// <summary>A count with a K/M suffix.</summary>
    public static string Count(long n) => n switch
    {
        >= 1_000_000 => (n / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A byte size in KiB or MiB.</summary>
    public static string Bytes(long n) => n >= 1 << 20
        ? (n / 1048576.0).ToString("F2", CultureInfo.InvariantCulture) + " MiB"
        : (n / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB";
}
