namespace Distillery.TestSupport.Cli;

/// <summary>What one run of <c>distill</c> printed and returned.</summary>
/// <param name="ExitCode">The process exit code (0 success, 1 failure, 2 bad input, 130 cancelled).</param>
/// <param name="Output">Everything written to standard output.</param>
/// <param name="Error">Everything written to standard error.</param>
public sealed record CliResult(int ExitCode, string Output, string Error);
