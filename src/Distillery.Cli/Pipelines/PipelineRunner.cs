using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Pipelines;
using Spectre.Console;

namespace Distillery.Cli.Pipelines;

/// <summary>Runs a pipeline's steps as <c>distill</c> commands in this process: the same code as typing each verb by hand.</summary>
public static class PipelineRunner
{
    /// <summary>The variables every pipeline gets: <c>{shared}</c> (where found), <c>{pipeline_dir}</c>, <c>{port}</c> (a free loopback port, the same on reruns), <c>{cwd}</c>.</summary>
    public static Dictionary<string, string> BuiltInVariables(string pipelineDirectory)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["pipeline_dir"] = Path.GetFullPath(pipelineDirectory),
            ["port"] = StablePort(Path.GetFullPath(pipelineDirectory)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["cwd"] = Directory.GetCurrentDirectory(),
        };
        if (SharedData.TryFind() is { } shared) variables["shared"] = shared;
        return variables;
    }

    /// <summary>Runs the steps in order; stops at the first that fails and returns its exit code.</summary>
    public static async Task<int> RunAsync(PipelineDefinition pipeline, IReadOnlyDictionary<string, string> variables, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(context);
        // Expand every step first, so that a typo fails before anything runs.
        var steps = pipeline.Steps.Select((s, i) => (Step: s, Args: s.Run.Select((a, j) => PipelineDefinition.Expand(a, variables, $"steps[{i}] '{s.Name}' run[{j}]")).ToArray(),
            Ready: s.ReadyUrl is null ? null : PipelineDefinition.Expand(s.ReadyUrl, variables, $"steps[{i}] '{s.Name}' ready_url"),
            Enabled: s.When is null || IsTrue(PipelineDefinition.Expand(s.When, variables, $"steps[{i}] '{s.Name}' when")))).ToList();
        using var background = CancellationTokenSource.CreateLinkedTokenSource(context.Cancellation);
        var running = new List<(string Name, Task<int> Task)>();
        var summary = new List<(string Name, double Seconds, string Outcome)>();
        var total = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < steps.Count; i++)
            {
                var (step, args, ready, enabled) = steps[i];
                context.Console.Write(new Rule($"[bold]{i + 1}/{steps.Count}[/] {Markup.Escape(step.Name)}").LeftJustified());
                if (!enabled)
                {
                    summary.Add((step.Name, 0, "skipped"));
                    continue;
                }
                context.Console.MarkupLine("[dim]distill " + Markup.Escape(string.Join(' ', args.Select(Quote))) + "[/]");
                var clock = Stopwatch.StartNew();
                if (step.Background)
                {
                    var task = Task.Run(() => CliApp.RunAsync(args, context.Console, context.Error, background.Token));
                    running.Add((step.Name, task));
                    if (ready is not null) await WaitUntilReadyAsync(step.Name, ready, task, context.Cancellation);
                    summary.Add((step.Name, clock.Elapsed.TotalSeconds, "started"));
                    continue;
                }
                var code = await CliApp.RunAsync(args, context.Console, context.Error, context.Cancellation);
                summary.Add((step.Name, clock.Elapsed.TotalSeconds, code == 0 ? "ok" : $"exit {code}"));
                if (code != 0)
                {
                    await context.Error.WriteLineAsync($"distill: pipeline '{pipeline.Name}' stopped: step {i + 1} '{step.Name}' exited with {code}");
                    return code;
                }
            }
        }
        finally
        {
            await background.CancelAsync();
            foreach (var (_, task) in running) await task.ContinueWith(_ => { }, TaskScheduler.Default);
            PrintSummary(context.Console, summary, total.Elapsed.TotalSeconds);
        }
        return ExitCodes.Ok;
    }

    private static void PrintSummary(IAnsiConsole console, List<(string Name, double Seconds, string Outcome)> summary, double seconds)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("step").AddColumn(new TableColumn("seconds").RightAligned()).AddColumn("outcome");
        foreach (var (name, s, outcome) in summary) table.AddRow(Markup.Escape(name), s.ToString("F1", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(outcome));
        table.Caption($"total {seconds:F1} s");
        console.Write(table);
    }

    private static async Task WaitUntilReadyAsync(string name, string url, Task<int> task, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (task.IsCompleted)
                throw new DistilleryException($"background step '{name}' ended (exit {await task}) before {url} answered");
            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // a slow start; try again
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new DistilleryException($"background step '{name}' did not answer at {url} within 2 minutes");
    }

    /// <summary>
    /// A port derived from the pipeline's folder, so that a rerun talks to the same endpoint (the ledger keys requests by
    /// endpoint, and a resumed run must find its answers there); a random free one where that port is taken.
    /// </summary>
    private static int StablePort(string key)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));
        var port = 20000 + (int)(BitConverter.ToUInt32(hash, 0) % 20000);
        try
        {
            var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return port;
        }
        catch (SocketException)
        {
            return FreeLoopbackPort();
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool IsTrue(string value) => value.Trim().ToLowerInvariant() is not ("" or "false" or "0" or "no");

    private static string Quote(string arg) => arg.Contains(' ', StringComparison.Ordinal) ? $"\"{arg}\"" : arg;
}
