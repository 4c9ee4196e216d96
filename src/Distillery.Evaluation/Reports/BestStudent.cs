using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Evaluation.Reports;

/// <summary>The best student of an eval report (<c>best_student.json</c>), written by the report and read by <c>distill export --model best-of:DIR</c>.</summary>
/// <param name="Name">The student's display name.</param>
/// <param name="Spec">The model spec it was loaded from, such as <c>checkpoint:DIR</c>.</param>
/// <param name="KlToTeacher">Its KL to the teacher, where measured.</param>
/// <param name="CrossEntropy">Its cross-entropy, where measured.</param>
public sealed record BestStudent(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("spec")] string Spec,
    [property: JsonPropertyName("kl_to_teacher")] double? KlToTeacher,
    [property: JsonPropertyName("cross_entropy")] double? CrossEntropy)
{
    /// <summary>Its bits per byte of the held-out answers, where measured (what ranks students of different tokenizers).</summary>
    [JsonPropertyName("bits_per_byte")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BitsPerByte { get; init; }

    /// <summary>The file name inside a report folder.</summary>
    public const string FileName = "best_student.json";

    /// <summary>The record for a scored model.</summary>
    public static BestStudent From(ModelScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return new BestStudent(score.Name, score.Spec, score.KlToTeacher, score.CrossEntropy) { BitsPerByte = score.BitsPerByte };
    }

    /// <summary>Writes the record into a report folder and returns the file's path.</summary>
    public string Write(string directory)
    {
        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path, JsonSerializer.Serialize(this));
        return path;
    }

    /// <summary>Reads the record from a report folder; a missing, malformed or spec-less file is a one-line <see cref="InputException"/>.</summary>
    public static async Task<BestStudent> ReadAsync(string directory, CancellationToken cancellationToken = default)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw InputException.InField("--model", $"{path} does not exist; run 'distill eval ... --report DIR' with students first");
        BestStudent? best;
        try
        {
            best = JsonSerializer.Deserialize<BestStudent>(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not a best-student record ({ErrorText.FirstLine(e)}); run 'distill eval ... --report DIR' again");
        }
        if (best is null || string.IsNullOrWhiteSpace(best.Spec))
            throw InputException.InFile(path, "names no student 'spec'; run 'distill eval ... --report DIR' again");
        return best;
    }
}
