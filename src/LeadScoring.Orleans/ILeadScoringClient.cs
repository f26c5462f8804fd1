using LeadScoring.Messages;

namespace LeadScoring.Orleans;

/// <summary>
/// Ingestion and reads against a LeadScoring cluster, from an Orleans client or from inside a silo. Register it with
/// <c>services.AddLeadScoringClient()</c>.
/// </summary>
public interface ILeadScoringClient
{
    /// <summary>
    /// Scores a batch of messages. Returns once the batch is in the message log and every partition has applied it;
    /// retried (see <see cref="LeadScoringClientOptions"/>) when a silo fails meanwhile.
    /// </summary>
    Task<IngestResult> IngestAsync(IReadOnlyList<LeadMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Scores a batch of Segment JSON lines (UTF-8; a line may hold one message or a <c>{"batch": [...]}</c>). Lines
    /// that cannot be used are reported in <see cref="IngestResult.Rejected"/> with their line number and skipped.
    /// </summary>
    Task<IngestResult> IngestJsonLinesAsync(ReadOnlyMemory<byte> utf8Lines, string source = "client", CancellationToken cancellationToken = default);

    /// <summary>The lead known by any of its ids as of <paramref name="asOf"/>, as the contract's JSON object (spec 5); null when unknown.</summary>
    Task<string?> GetLeadJsonAsync(string leadId, DateTimeOffset asOf, bool explain = true, CancellationToken cancellationToken = default);

    /// <summary>Every lead as of <paramref name="asOf"/>, as the contract's JSON lines ordered by lead id (what <c>leadscore score</c> writes).</summary>
    Task<IReadOnlyList<string>> EvaluateAllAsync(DateTimeOffset asOf, bool explain = false, CancellationToken cancellationToken = default);
}

/// <summary>What the cluster did with a batch.</summary>
/// <param name="Accepted">Messages appended to the log and applied (copies of earlier ones included: they are not counted twice).</param>
/// <param name="Ignored">Messages of types the engine does not read (spec 2.1).</param>
/// <param name="Rejected">Records that could not be used, with where and why.</param>
public sealed record IngestResult(int Accepted, int Ignored, IReadOnlyList<RejectedMessage> Rejected);

/// <summary>A record that could not be used.</summary>
/// <param name="Location">Where it was: the source and line (and batch index).</param>
/// <param name="Reason">Why it was rejected.</param>
public sealed record RejectedMessage(string Location, string Reason);
