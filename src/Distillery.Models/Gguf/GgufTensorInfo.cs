using System.Collections.Generic;
using System.Linq;

namespace Distillery.Models.Gguf;

/// <summary>A tensor's entry in a GGUF header: its name, shape in PyTorch order (outermost first), element type and data offset.</summary>
public sealed record GgufTensorInfo(string Name, IReadOnlyList<long> Shape, GgmlType Type, ulong Offset)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The bytes its data takes.</summary>
    public long ByteCount => ElementCount * (Type == GgmlType.F32 ? 4 : 2);
}
