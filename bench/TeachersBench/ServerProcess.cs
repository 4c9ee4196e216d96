using System;
using System.Diagnostics;
using System.Net.Http;
using System.Reflection;
using System.Threading.Tasks;
using Distillery.TestSupport.Servers;

namespace TeachersBench;

/// <summary>The fake OpenAI server running in a child process (this program with <c>--serve</c>), and the calls that read and reset its count of answers.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly HttpClient http = new();

    private ServerProcess(Process process, Uri baseUrl)
    {
        this.process = process;
        BaseUrl = baseUrl;
    }

    /// <summary>The server's OpenAI base URL (ending in /v1).</summary>
    public Uri BaseUrl { get; }

    /// <summary>The server process's CPU time so far, in milliseconds.</summary>
    public double CpuMilliseconds
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalMilliseconds;
        }
    }

    /// <summary>Starts the child and waits for the URL it prints when it listens.</summary>
    public static async Task<ServerProcess> StartAsync()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which program is running");
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        // Run through `dotnet path.dll` when this process is the dotnet host rather than the app host.
        if (string.Equals(System.IO.Path.GetFileNameWithoutExtension(self), "dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        start.ArgumentList.Add("--serve");
        var process = Process.Start(start) ?? throw new InvalidOperationException("the bench server did not start");
        var line = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("the bench server exited before it listened");
        return new ServerProcess(process, new Uri(line.Trim()));
    }

    /// <summary>Answers the server has sent since the last reset.</summary>
    public async Task<int> AnsweredAsync() => int.Parse(await http.GetStringAsync(new Uri(BaseUrl, FakeOpenAiServer.AnsweredPath)), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Sets the server's count of answers back to zero.</summary>
    public async Task ResetAsync() => (await http.PostAsync(new Uri(BaseUrl, FakeOpenAiServer.ResetPath), null)).EnsureSuccessStatusCode();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        process.StandardInput.Close(); // the child serves until its input ends
        if (!process.WaitForExit(5000)) process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        http.Dispose();
    }
}
