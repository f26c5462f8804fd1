using LeadScoring.Messages;
using Orleans;
using Orleans.Concurrency;

namespace LeadScoring.Orleans;

/// <summary>
/// The identity directory (one activation in the cluster, key 0): it routes every batch to the partitions, moves a
/// lead between partitions when a message links it to a lead of another partition, shares group messages with every
/// partition, and appends the batch to the message log. Batches are handled one at a time (a non-reentrant grain).
/// </summary>
internal interface IIdentityDirectoryGrain : IGrainWithIntegerKey
{
    Task<IngestReply> IngestJsonLinesAsync(Immutable<byte[]> utf8Lines, string source);

    Task<IngestReply> IngestAsync(Immutable<LeadMessage[]> messages);

    Task<string?> GetLeadAsync(string leadId, DateTimeOffset asOf, bool explain);

    Task<PartitionResults> EvaluateAllAsync(DateTimeOffset asOf, bool explain);

    /// <summary>Rebuilds the map from the log and reloads every partition (also done on activation and after a failed batch).</summary>
    Task ResetAsync();
}

/// <summary>A partition of the identity space (keys 0 to partitions - 1): one engine for the leads routed to it.</summary>
internal interface IPartitionGrain : IGrainWithIntegerKey
{
    Task<Guid> GetIncarnationAsync();

    /// <summary>Drops the engine and replays this partition's messages from the log.</summary>
    Task<Guid> ReloadAsync();

    Task<PartitionReply> ApplyAsync(Immutable<LeadMessage[]> messages);

    Task<PartitionReply> ImportAccountAsync(Immutable<LeadMessage[]> groups);

    Task<PartitionReply> ExportAsync(string[] ids);

    Task<PartitionReply> ImportAsync(Immutable<LeadTransfer[]> leads);

    Task<string?> EvaluateAsync(string leadId, DateTimeOffset asOf, bool explain);

    Task<PartitionResults> EvaluateAllAsync(DateTimeOffset asOf, bool explain);

    /// <summary>One run of the stage clock up to the silo's current time (the reminder calls it); the number of moves told.</summary>
    Task<int> RunStageClockAsync();
}

/// <summary>What the directory did with a batch.</summary>
[GenerateSerializer, Immutable]
internal sealed class IngestReply
{
    [Id(0)] public int Accepted { get; init; }
    [Id(1)] public int Ignored { get; init; }
    [Id(2)] public string[] RejectedLocations { get; init; } = [];
    [Id(3)] public string[] RejectedReasons { get; init; } = [];
}
