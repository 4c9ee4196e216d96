using System.Collections.Generic;
using System.Linq;

namespace Distillery.Models.Gguf;

/// <summary>A tensor's entry in a GGUF header: its name, shape in PyTorch order (outermost first), element type and data offset.</summary>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<long> Shape, GgmlType Type, ulong Offset)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The bytes its data takes.</summary>
    public long ByteCount => Type switch
    {
        GgmlType.F32 => ElementCount * 4,
        GgmlType.Q8_0 => Q8Zero.ByteCount(ElementCount),
        _ => ElementCount * 2,
    };
}
