using System;
using System.Globalization;
using System.Reflection;
using Distillery.Core.Errors;
using TorchSharp;

namespace Distillery.Models.Runtime;

/// <summary>
/// Where a model runs, as the user writes it: <c>auto</c> (the first CUDA device where libtorch has one, else the CPU),
/// <c>cpu</c>, <c>cuda</c> (device 0) or <c>cuda:N</c>. The one owner of <c>--device</c>: parsing, checking against this
/// machine, and the <see cref="torch.Device"/> that models, optimiser state and batches are placed on.
/// </summary>
public sealed record DeviceSpec
{
    /// <summary>The option's name, used in every error about it.</summary>
    public const string OptionName = "--device";

    private DeviceSpec(DeviceType? type, int index)
    {
        Type = type;
        Index = index;
    }

    /// <summary>CPU unless told otherwise: the default of every verb.</summary>
    public static DeviceSpec Cpu { get; } = new(DeviceType.CPU, -1);

    /// <summary>The first CUDA device where there is one, else the CPU.</summary>
    public static DeviceSpec Auto { get; } = new(null, -1);

    /// <summary>The device type asked for; null for <c>auto</c>.</summary>
    public DeviceType? Type { get; }

    /// <summary>The CUDA device's ordinal (0 for a bare <c>cuda</c>); −1 for the CPU and <c>auto</c>.</summary>
    public int Index { get; }

    /// <summary>Parses <c>auto | cpu | cuda | cuda:N</c> (case-insensitive); null or empty is <see cref="Cpu"/>. Anything else is one line naming <paramref name="field"/>.</summary>
    public static DeviceSpec Parse(string? text, string field = OptionName)
    {
        if (string.IsNullOrWhiteSpace(text)) return Cpu;
        var value = text.Trim().ToLowerInvariant();
        switch (value)
        {
            case "auto": return Auto;
            case "cpu": return Cpu;
            case "cuda": return new DeviceSpec(DeviceType.CUDA, 0);
        }
        if (value.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < 1024)
            return new DeviceSpec(DeviceType.CUDA, index);
        throw InputException.InField(field, $"'{text}' is not a device; use auto, cpu, cuda or cuda:N");
    }

    /// <summary>
    /// The device on this machine: <c>auto</c> takes CUDA device 0 where libtorch sees one, else the CPU; <c>cuda</c> where
    /// libtorch has no CUDA (the CPU build, no driver) or no such device is one line naming <paramref name="field"/>.
    /// </summary>
    public torch.Device Resolve(string field = OptionName)
    {
        TorchRuntime.EnsureLoaded();
        var cudaDevices = CudaDeviceCount();
        if (Type is null) return cudaDevices > 0 ? new torch.Device(DeviceType.CUDA, 0) : torch.CPU;
        if (Type == DeviceType.CPU) return torch.CPU;
        if (cudaDevices == 0)
            throw InputException.InField(field, $"{this} asked for, but CUDA is not available here (TorchSharp {TorchBuild()} build, no CUDA device); use --device cpu or auto, or build with -p:TorchBackend=cuda on a machine with a CUDA driver");
        if (Index >= cudaDevices)
            throw InputException.InField(field, $"{this} asked for, but this machine has {cudaDevices} CUDA device(s) (cuda:0 to cuda:{cudaDevices - 1})");
        return new torch.Device(DeviceType.CUDA, Index);
    }

    /// <summary>What <c>--device auto</c> picks on this machine, in words (for <c>distill doctor</c>).</summary>
    public static string DescribeAuto()
    {
        var count = CudaDeviceCount();
        return count > 0
            ? $"cuda:0 ({count} CUDA device(s): cuda:0 to cuda:{count - 1}; cpu always available)"
            : $"cpu (no CUDA: TorchSharp {TorchBuild()} build{(TorchBuild() == "CUDA" ? ", but no CUDA device or driver" : "")}; build with -p:TorchBackend=cuda for GPUs)";
    }

    /// <summary>How many CUDA devices libtorch sees here; 0 where the CUDA backend is not part of this build.</summary>
    public static int CudaDeviceCount()
    {
        TorchRuntime.EnsureLoaded();
        return torch.cuda.is_available() ? torch.cuda.device_count() : 0;
    }

    /// <summary>The spec as it is written on the command line.</summary>
    public override string ToString() => Type switch
    {
        null => "auto",
        DeviceType.CPU => "cpu",
        _ => $"cuda:{Index}",
    };

    /// <summary>Which TorchSharp native backend this program was built with: the <c>TorchBackend</c> build property, stamped into this assembly.</summary>
    public static string TorchBuild()
    {
        foreach (var attribute in typeof(DeviceSpec).Assembly.GetCustomAttributes(typeof(AssemblyMetadataAttribute), false))
            if (attribute is AssemblyMetadataAttribute { Key: "DistilleryTorchBackend", Value: { Length: > 0 } value })
                return value.ToUpperInvariant();
        return "CPU";
    }
}
