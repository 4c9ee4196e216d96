using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Distillery.Pipeline;

/// <summary>What every pipeline step's options share: where the step logs its phases.</summary>
public abstract record PipelineOptions
{
    /// <summary>The logger factory the step logs its phases to; none by default.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
