using LeadScoring.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Concurrency;

namespace LeadScoring.Orleans;

/// <summary><see cref="ILeadScoringClient"/> over the identity directory grain; sends a failed batch again.</summary>
internal sealed class LeadScoringClient(IGrainFactory grains, IOptions<LeadScoringClientOptions> options, ILogger<LeadScoringClient> logger) : ILeadScoringClient
{
    private IIdentityDirectoryGrain Directory => grains.GetGrain<IIdentityDirectoryGrain>(0);

    public Task<IngestResult> IngestAsync(IReadOnlyList<LeadMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var batch = messages.ToArray().AsImmutable();
        return RetryAsync(() => Directory.IngestAsync(batch), messages.Count, cancellationToken);
    }

    public Task<IngestResult> IngestJsonLinesAsync(ReadOnlyMemory<byte> utf8Lines, string source = "client", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var lines = utf8Lines.ToArray().AsImmutable();
        return RetryAsync(() => Directory.IngestJsonLinesAsync(lines, source), -1, cancellationToken);
    }

    public Task<string?> GetLeadJsonAsync(string leadId, DateTimeOffset asOf, bool explain = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        return Directory.GetLeadAsync(leadId, asOf, explain).WaitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> EvaluateAllAsync(DateTimeOffset asOf, bool explain = false, CancellationToken cancellationToken = default) =>
        (await Directory.EvaluateAllAsync(asOf, explain).WaitAsync(cancellationToken).ConfigureAwait(false)).Lines;

    private async Task<IngestResult> RetryAsync(Func<Task<IngestReply>> send, int count, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var delay = o.RetryDelay;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var reply = await send().WaitAsync(cancellationToken).ConfigureAwait(false);
                return new IngestResult(reply.Accepted, reply.Ignored,
                    [.. reply.RejectedLocations.Zip(reply.RejectedReasons, (l, r) => new RejectedMessage(l, r))]);
            }
            catch (Exception ex) when (attempt < o.MaxAttempts && !cancellationToken.IsCancellationRequested && ex is not ArgumentException)
            {
                logger.LogWarning(ex, "A batch ({Count} message(s); -1: JSON lines) failed on attempt {Attempt}; sending it again in {Delay}.", count, attempt, delay);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }
}
