using System.Collections.Generic;
using System.Linq;

namespace Distillery.Teachers.Labeling;

/// <summary>The (prompt, sample) key of every line of a dataset being written, so a finished run can put its rows in prompt order without parsing them again.</summary>
internal sealed class LineOrder
{
    private readonly List<(int Prompt, int Sample)> existing = [];
    private readonly Dictionary<long, (int Prompt, int Sample)> appended = [];

    /// <summary>Records the key of the next line that was in the file before the run.</summary>
    public void AddExisting(int prompt, int sample) => existing.Add((prompt, sample));

    /// <summary>Records the key of a line the run appended at <paramref name="position"/> (0 for its first).</summary>
    public void AddAppended(long position, int prompt, int sample)
    {
        lock (appended) appended[position] = (prompt, sample);
    }

    /// <summary>The line indexes in prompt-then-sample order (ties keep file order), or null when the file is in that order already.</summary>
    public List<int>? Sorted()
    {
        List<(int Prompt, int Sample)> keys;
        lock (appended) keys = [.. existing, .. appended.OrderBy(p => p.Key).Select(p => p.Value)];
        var order = Enumerable.Range(0, keys.Count).OrderBy(i => keys[i].Prompt).ThenBy(i => keys[i].Sample).ThenBy(i => i).ToList();
        return order.Select((line, i) => line == i).All(same => same) ? null : order;
    }
}
