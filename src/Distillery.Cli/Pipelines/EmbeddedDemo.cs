using System.IO;
using System.Linq;

namespace Distillery.Cli.Pipelines;

/// <summary>The demo pipeline and its inputs, shipped inside distill (originals in the repository's demo/ folder).</summary>
public static class EmbeddedDemo
{
    /// <summary>The files the demo pipeline needs.</summary>
    public static readonly string[] Files = ["pipeline.json", "student.json", "story-openings.txt", "story-openings-heldout.txt"];

    /// <summary>Writes the demo files into the folder and returns the pipeline file's path.</summary>
    public static string Extract(string directory, int? trainPrompts = null)
    {
        Directory.CreateDirectory(directory);
        var assembly = typeof(EmbeddedDemo).Assembly;
        foreach (var name in Files)
        {
            using var stream = assembly.GetManifestResourceStream("demo/" + name) ?? throw new FileNotFoundException($"the demo file '{name}' is not embedded in distill");
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            if (name == "story-openings.txt" && trainPrompts is { } n)
                text = string.Join('\n', text.Split('\n').Where(l => l.Length > 0).Take(n)) + "\n";
            File.WriteAllText(Path.Combine(directory, name), text);
        }
        return Path.Combine(directory, "pipeline.json");
    }
}
