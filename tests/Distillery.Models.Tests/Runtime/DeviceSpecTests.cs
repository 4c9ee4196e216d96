using System;
using Distillery.Core.Errors;
using Distillery.Models.Runtime;
using TorchSharp;

namespace Distillery.Models.Tests.Runtime;

/// <summary><c>--device</c>: what parses, what this CPU-only machine resolves it to, and the one-line refusals.</summary>
public sealed class DeviceSpecTests
{
    [Theory]
    [InlineData("auto", "auto", null, -1)]
    [InlineData("cpu", "cpu", DeviceType.CPU, -1)]
    [InlineData("CPU", "cpu", DeviceType.CPU, -1)]
    [InlineData("cuda", "cuda:0", DeviceType.CUDA, 0)]
    [InlineData("cuda:1", "cuda:1", DeviceType.CUDA, 1)]
    [InlineData(" cuda:12 ", "cuda:12", DeviceType.CUDA, 12)]
    public void Parses_the_documented_forms(string text, string written, DeviceType? type, int index)
    {
        var spec = DeviceSpec.Parse(text);
        Assert.Equal(written, spec.ToString());
        Assert.Equal(type, spec.Type);
        Assert.Equal(index, spec.Index);
    }

    [Fact]
    public void Nothing_given_is_the_cpu()
    {
        Assert.Same(DeviceSpec.Cpu, DeviceSpec.Parse(null));
        Assert.Same(DeviceSpec.Cpu, DeviceSpec.Parse(""));
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("cuda:1:2")]
    [InlineData("cuda:99999")]
    [InlineData("mps")]
    public void A_bad_value_is_one_line_naming_the_option(string text)
    {
        var error = Assert.Throws<InputException>(() => DeviceSpec.Parse(text));
        Assert.StartsWith("--device: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public void On_this_cpu_build_auto_and_cpu_resolve_to_the_cpu_and_cuda_is_refused_in_one_line()
    {
        Assert.Equal(0, DeviceSpec.CudaDeviceCount()); // the CPU build: no CUDA backend, whatever the hardware
        Assert.Equal(DeviceType.CPU, DeviceSpec.Auto.Resolve().type);
        Assert.Equal(DeviceType.CPU, DeviceSpec.Cpu.Resolve().type);
        Assert.StartsWith("cpu (no CUDA", DeviceSpec.DescribeAuto(), StringComparison.Ordinal);
        Assert.Equal("CPU", DeviceSpec.TorchBuild());
        foreach (var text in new[] { "cuda", "cuda:1" })
        {
            var error = Assert.Throws<InputException>(() => DeviceSpec.Parse(text).Resolve());
            Assert.StartsWith("--device: ", error.Message, StringComparison.Ordinal);
            Assert.Contains("CUDA is not available", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
    }
}
