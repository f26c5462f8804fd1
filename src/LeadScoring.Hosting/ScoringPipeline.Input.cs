using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>Input: every source pumps its records into the bounded queue; hosts write messages into it (back-pressure).</summary>
internal sealed partial class ScoringPipeline
{
    private async Task PumpAsync(ILeadMessageSource source, string? checkpoint, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var record in source.ReadAsync(checkpoint, cancellationToken).ConfigureAwait(false))
            {
                await _queue.Writer.WriteAsync(new Item(source.Name, record.Result.Message, record), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Source {Source} failed; its messages after the last checkpoint will be read again on restart.", source.Name);
        }
        finally
        {
            _status.SourceStopped();
        }
    }

    public ValueTask WriteAsync(LeadMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _queue.Writer.WriteAsync(new Item(WriterSource, message, default), cancellationToken);
    }
}
