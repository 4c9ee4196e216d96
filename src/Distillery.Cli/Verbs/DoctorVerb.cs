using System;
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Runtime;
using Distillery.Teachers.Gguf;
using Spectre.Console;
using TorchSharp;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill doctor</c>: what this machine offers Distillery, measured.</summary>
public sealed class DoctorVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var seconds = new Option<double>("--seconds") { Description = "Time spent measuring the matmul rate", DefaultValueFactory = _ => 1.5 };
        var command = new Command("doctor", "Show what this machine offers: runtimes, libtorch, threads, measured GFLOP/s, CUDA and the device --device auto picks, llama.cpp") { seconds };
        command.SetAction((parse, _) => Task.FromResult(Run(parse.GetValue(seconds))));
        return command;
    }

    private int Run(double seconds)
    {
        if (seconds is <= 0 or > 60) throw InputException.InField("--seconds", "must be between 0 and 60");
        var table = new Table().AddColumn("what").AddColumn("found");
        table.AddRow(".NET", Markup.Escape($"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})"));
        table.AddRow("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?");
        var ok = TorchRuntime.IsAvailable;
        if (ok)
        {
            table.AddRow("libtorch", torch.__version__);
            table.AddRow("libstdc++ compatibility fix", TorchRuntime.CompatibilityFixActive ? "active (system libstdc++ lacks GLIBCXX_3.4.32)" : "not needed");
            table.AddRow("CPU threads", $"{torch.get_num_threads()} libtorch / {Environment.ProcessorCount} logical");
            var gflops = MatmulBenchmark.MeasureGflops(seconds: seconds);
            table.AddRow("fp32 matmul (n = 1536)", $"{gflops:F1} GFLOP/s");
            table.AddRow("TorchSharp backend", $"{DeviceSpec.TorchBuild()} build (choose with -p:TorchBackend=cpu|cuda)");
            table.AddRow("CUDA", torch.cuda.is_available() ? $"yes, {torch.cuda.device_count()} device(s)" : "no");
            table.AddRow("--device auto picks", Markup.Escape(DeviceSpec.DescribeAuto()));
        }
        else
        {
            table.AddRow("libtorch", "[red]does not load[/]");
        }
        var (llamaOk, llamaDetail) = LlamaCppRuntime.Probe();
        table.AddRow("llama.cpp (LLamaSharp)", llamaOk ? $"loads ({Markup.Escape(llamaDetail)})" : $"[red]does not load[/]: {Markup.Escape(llamaDetail)}");
        context.Console.Write(table);
        TorchRuntime.EnsureLoaded(); // a missing libtorch is a failed run, said in one line
        return ExitCodes.Ok;
    }
}
