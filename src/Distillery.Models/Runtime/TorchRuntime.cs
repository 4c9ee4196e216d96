using System;
using Distillery.Core.Errors;
using TorchSharp;

namespace Distillery.Models.Runtime;

/// <summary>Loads libtorch once and turns a load failure into one line that says what to do.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<string?> LoadError = new(TryLoad);

    /// <summary>Throws a <see cref="DistilleryException"/> with advice if libtorch cannot be loaded here.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } error)
            throw new DistilleryException($"libtorch failed to load ({error}). {Advice(error)}");
    }

    /// <summary>Whether libtorch loads on this machine.</summary>
    public static bool IsAvailable => LoadError.Value is null;

    /// <summary>Whether the build applied the libstdc++ compatibility fix to the loaded TorchSharp library.</summary>
    public static bool CompatibilityFixActive =>
        System.IO.File.Exists(System.IO.Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libdistillery_iosinit.so"))
        || System.IO.File.Exists(System.IO.Path.Combine(AppContext.BaseDirectory, "libdistillery_iosinit.so"));

    private static string Advice(string error) =>
        error.Contains("GLIBCXX", StringComparison.Ordinal) || error.Contains("libstdc++", StringComparison.Ordinal)
            ? "This libstdc++ predates GCC 13: rebuild on this machine with g++ and patchelf installed (apt-get install g++ patchelf) so the build fixes TorchSharp for it."
            : error.Contains("libtorch-cpu", StringComparison.Ordinal)
                ? "The program must reference the TorchSharp-cpu package so that libtorch's native files are copied beside it."
                : "Run 'distill doctor' for details.";

    private static string? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var probe = torch.ones(2, 2);
            return probe.sum().item<float>() == 4f ? null : "a 2x2 sum gave a wrong result";
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or TypeInitializationException
                                      or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException)
        {
            var inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            return ErrorText.FirstLine(inner);
        }
    }
}
