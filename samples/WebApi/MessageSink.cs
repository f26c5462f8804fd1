using LeadScoring.Hosting;
using LeadScoring.Messages;

namespace LeadScoring.Samples.WebApi;

/// <summary>Where the valid messages of one ingestion request go, as one batch.</summary>
public interface IMessageSink
{
    /// <summary>Hands over the valid messages of one request; returns once they are accepted (queued or scored).</summary>
    Task WriteAsync(IReadOnlyList<LeadMessage> messages, CancellationToken cancellationToken);
}

/// <summary>The in-process pipeline (<c>memory</c>, <c>sqlite</c>, <c>postgres</c>): each message is queued on <see cref="ILeadMessageWriter"/>.</summary>
public sealed class PipelineMessageSink(ILeadMessageWriter writer) : IMessageSink
{
    /// <inheritdoc/>
    public async Task WriteAsync(IReadOnlyList<LeadMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            await writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }
}
