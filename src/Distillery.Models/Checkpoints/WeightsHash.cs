using System;
using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace Distillery.Models.Checkpoints;

/// <summary>A content hash of a model's weights as loaded (names, shapes and float32 values), the same whichever file format held them.</summary>
public static class WeightsHash
{
    /// <summary>SHA-256, lowercase hex, over every parameter in order: its name, its shape and its values as float32.</summary>
    public static string Of(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, p) in model.named_parameters())
        {
            using var scope = NewDisposeScope();
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}[{string.Join(",", p.shape)}]\n"));
            var values = p.detach().to(ScalarType.Float32).cpu().contiguous();
            hash.AppendData(values.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
