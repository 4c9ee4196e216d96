using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Distillery.Core.Errors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Training.Trainer;

/// <summary>
/// Resume states: folders <c>resume/step-00000100/</c> holding <c>model.bin</c>, <c>optimizer.bin</c>, <c>state.json</c> and,
/// where evaluation found one, <c>best.bin</c>. A folder is written under a temporary name and renamed into place, so a
/// resume state either exists whole or not at all.
/// </summary>
public static class ResumeStateStore
{
    /// <summary>The weights file inside a resume-state folder (TorchSharp module format).</summary>
    public const string ModelFile = "model.bin";

    /// <summary>The optimiser state file (TorchSharp optimiser format: per-parameter step, exp_avg, exp_avg_sq, and group options).</summary>
    public const string OptimizerFile = "optimizer.bin";

    /// <summary>The run state file.</summary>
    public const string StateFile = "state.json";

    /// <summary>The best-evaluation weights, when kept.</summary>
    public const string BestFile = "best.bin";

    private const string Prefix = "step-";

    /// <summary>The folder that holds a run's resume states.</summary>
    public static string Root(string outputDirectory) => Path.Combine(outputDirectory, "resume");

    /// <summary>The latest complete resume-state folder under <paramref name="outputDirectory"/>, or null.</summary>
    public static string? FindLatest(string outputDirectory) => List(outputDirectory).LastOrDefault();

    /// <summary>Complete resume-state folders, oldest first.</summary>
    public static IReadOnlyList<string> List(string outputDirectory)
    {
        var root = Root(outputDirectory);
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, Prefix + "*")
            .Where(d => File.Exists(Path.Combine(d, StateFile)))
            .Select(d => (Dir: d, Step: int.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1))
            .Where(x => x.Step >= 0)
            .OrderBy(x => x.Step)
            .Select(x => x.Dir)
            .ToList();
    }

    /// <summary>Writes a resume state atomically and prunes old ones beyond <paramref name="keep"/>; returns its folder.</summary>
    public static string Save(string outputDirectory, nn.Module model, OptimizerHelper optimizer, TrainerState state,
        IReadOnlyDictionary<string, Tensor>? bestWeights, int keep)
    {
        var root = Root(outputDirectory);
        Directory.CreateDirectory(root);
        var final = Path.Combine(root, $"{Prefix}{state.Step:D8}");
        var temp = Path.Combine(root, $".tmp-{state.Step:D8}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            model.save(Path.Combine(temp, ModelFile));
            optimizer.save_state_dict(Path.Combine(temp, OptimizerFile));
            if (bestWeights is not null) WriteWeights(Path.Combine(temp, BestFile), bestWeights);
            File.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, JsonOptions));
            // Re-saving the same step (a cancellation right after a scheduled resume state) replaces the old folder.
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
        foreach (var old in List(outputDirectory).SkipLast(keep)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>Reads a resume state's run state, with a one-line error for a damaged file.</summary>
    public static TrainerState ReadState(string resumeState)
    {
        var path = Path.Combine(resumeState, StateFile);
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), JsonOptions)
                   ?? throw InputException.InFile(path, "is empty; delete this resume-state folder to resume from an earlier one");
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not a valid resume state ({e.Message}); delete this resume-state folder to resume from an earlier one");
        }
    }

    /// <summary>Loads weights and optimiser state from a resume state into existing objects of the same shape.</summary>
    public static void Load(string resumeState, nn.Module model, OptimizerHelper optimizer)
    {
        try
        {
            model.load(Path.Combine(resumeState, ModelFile));
            optimizer.load_state_dict(Path.Combine(resumeState, OptimizerFile));
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or EndOfStreamException)
        {
            throw InputException.InFile(resumeState, $"does not fit this model ({ErrorText.FirstLine(e)}); resume with the same model configuration or use a fresh output folder");
        }
    }

    /// <summary>Reads best-evaluation weights from a resume state, or null where it has none.</summary>
    public static Dictionary<string, Tensor>? ReadBest(string resumeState, nn.Module model)
    {
        var path = Path.Combine(resumeState, BestFile);
        if (!File.Exists(path)) return null;
        var best = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
        using var reader = new BinaryReader(File.OpenRead(path));
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            if (!best.TryGetValue(name, out var tensor)) throw InputException.InFile(path, $"holds '{name}', which this model lacks");
            TensorExtensionMethods.Load(tensor, reader);
        }
        return best;
    }

    private static void WriteWeights(string path, IReadOnlyDictionary<string, Tensor> weights)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(weights.Count);
        foreach (var (name, tensor) in weights)
        {
            writer.Write(name);
            TensorExtensionMethods.Save(tensor, writer);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
