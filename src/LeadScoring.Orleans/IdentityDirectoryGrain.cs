using LeadScoring.Messages;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;

namespace LeadScoring.Orleans;

/// <summary>
/// The identity directory and ingestion coordinator (see <see cref="IIdentityDirectoryGrain"/> and docs/orleans.md).
/// A batch is a transaction against the message log: the directory joins its ids in the <see cref="IdentityMap"/>,
/// moves the leads whose partition changed (a link between leads of two partitions), has each partition apply its
/// messages, shares the counted group messages with every partition, and appends the batch to the log. When anything
/// fails (a silo died), the cluster is rolled back to the log (the map rebuilt, every partition reloaded) and the
/// failure is returned: the client sends the batch again, and copies are not counted twice.
/// </summary>
internal sealed class IdentityDirectoryGrain(LeadScoringSiloServices services, ILogger<IdentityDirectoryGrain> logger) : Grain, IIdentityDirectoryGrain
{
    /// <summary>Batches rolled back to the log in this process since start (for tests and diagnostics).</summary>
    internal static long Rollbacks;

    private readonly int _partitions = services.Options.Partitions;
    private IdentityMap _map = new(services.Options.Partitions);
    private Guid[] _incarnations = [];

    public override Task OnActivateAsync(CancellationToken cancellationToken) => ResetAsync();

    public async Task ResetAsync()
    {
        var map = new IdentityMap(_partitions);
        await foreach (var m in services.Storage.ReadMessagesAsync(CancellationToken.None))
        {
            map.Add(m);
        }

        _map = map;
        _incarnations = await Task.WhenAll(Enumerable.Range(0, _partitions).Select(i => Partition(i).ReloadAsync()));
        logger.LogInformation("Identity directory: {Ids} ids from the message log, {Partitions} partitions reloaded.", map.Count, _partitions);
    }

    public Task<IngestReply> IngestJsonLinesAsync(Immutable<byte[]> utf8Lines, string source)
    {
        var messages = new List<LeadMessage>();
        var locations = new List<string>();
        var reasons = new List<string>();
        int ignored = 0;
        using var stream = new MemoryStream(utf8Lines.Value, writable: false);
        foreach (var record in MessageReader.Read(stream))
        {
            var r = record.Result;
            if (r.IsRejected)
            {
                locations.Add($"{source}: {record.Location}");
                reasons.Add(r.Error!);
            }
            else if (r.IsIgnored)
            {
                ignored++;
            }
            else
            {
                messages.Add(r.Message!);
            }
        }

        if (locations.Count > 0)
        {
            logger.LogWarning("Rejected {Count} record(s) of {Source}, first {Location}: {Reason}", locations.Count, source, locations[0], reasons[0]);
        }

        return IngestCoreAsync(messages, ignored, locations, reasons);
    }

    public Task<IngestReply> IngestAsync(Immutable<LeadMessage[]> messages) => IngestCoreAsync(messages.Value, 0, [], []);

    public async Task<string?> GetLeadAsync(string leadId, DateTimeOffset asOf, bool explain) =>
        _map.Contains(leadId) ? await Partition(_map.PartitionOf(leadId)).EvaluateAsync(leadId, asOf, explain) : null;

    public async Task<PartitionResults> EvaluateAllAsync(DateTimeOffset asOf, bool explain)
    {
        var parts = await Task.WhenAll(Enumerable.Range(0, _partitions).Select(i => Partition(i).EvaluateAllAsync(asOf, explain)));
        var all = parts.SelectMany(p => p.LeadIds.Zip(p.Lines)).OrderBy(x => x.First, StringComparer.Ordinal).ToList();
        return new PartitionResults { LeadIds = [.. all.Select(x => x.First)], Lines = [.. all.Select(x => x.Second)] };
    }

    private IPartitionGrain Partition(int index) => GrainFactory.GetGrain<IPartitionGrain>(index);

    private async Task<IngestReply> IngestCoreAsync(IReadOnlyList<LeadMessage> messages, int ignored, List<string> locations, List<string> reasons)
    {
        if (messages.Count > 0)
        {
            try
            {
                await ApplyBatchAsync(messages);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref Rollbacks);
                logger.LogWarning(ex, "A batch of {Count} message(s) failed; rolling the cluster back to the message log.", messages.Count);
                try
                {
                    await ResetAsync();
                }
                catch (Exception reset)
                {
                    // The next batch (or activation) tries again; the map may be ahead of the log until then.
                    logger.LogError(reset, "Rolling back to the message log failed.");
                    DeactivateOnIdle();
                }

                throw;
            }
        }

        return new IngestReply { Accepted = messages.Count, Ignored = ignored, RejectedLocations = [.. locations], RejectedReasons = [.. reasons] };
    }

    private async Task ApplyBatchAsync(IReadOnlyList<LeadMessage> messages)
    {
        // 1. A partition that was activated again since the last batch (its silo died, or it was collected) replayed a
        //    log that may lack the last batch: it replays the log again, which now has every batch it was sent.
        var now = await Task.WhenAll(Enumerable.Range(0, _partitions).Select(i => Partition(i).GetIncarnationAsync()));
        for (int i = 0; i < _partitions; i++)
        {
            if (now[i] != _incarnations[i])
            {
                logger.LogInformation("Partition {Partition} was activated again; it reloads from the message log.", i);
                _incarnations[i] = await Partition(i).ReloadAsync();
            }
        }

        var suspects = new HashSet<int>();
        void Seen(int partition, Guid incarnation)
        {
            if (incarnation != _incarnations[partition])
            {
                suspects.Add(partition);   // activated again in the middle of this batch: reloaded once it is logged
                _incarnations[partition] = incarnation;
            }
        }

        // 2. The components the batch touches, as they were, with their partitions; then the batch's links.
        var before = new Dictionary<IReadOnlyList<string>, (string[] Ids, int Partition)>(ReferenceEqualityComparer.Instance);
        foreach (var m in messages)
        {
            Touch(m.UserId);
            Touch(m.AnonymousId);
            Touch(m.PreviousId);
        }

        foreach (var m in messages)
        {
            _map.Add(m);
        }

        // 3. Moves: a component now in another partition leaves its old one, with its leads' journals.
        var moves = before.Values
            .Select(b => (b.Ids, From: b.Partition, To: _map.PartitionOf(b.Ids[0])))
            .Where(x => x.From != x.To)
            .GroupBy(x => (x.From, x.To));
        foreach (var move in moves)
        {
            var exported = await Partition(move.Key.From).ExportAsync([.. move.SelectMany(x => x.Ids)]);
            Seen(move.Key.From, exported.Incarnation);
            if (exported.Leads.Length > 0)
            {
                var imported = await Partition(move.Key.To).ImportAsync(exported.Leads.AsImmutable());
                Seen(move.Key.To, imported.Incarnation);
            }
        }

        // 4. Apply, each partition its share, in parallel; then share the counted group messages with every partition.
        var shares = new List<LeadMessage>?[_partitions];
        foreach (var m in messages)
        {
            (shares[_map.PartitionOf(m)] ??= []).Add(m);
        }

        var applied = await Task.WhenAll(shares.Select((share, i) => (share, i)).Where(x => x.share is not null)
            .Select(async x => (x.i, Reply: await Partition(x.i).ApplyAsync(x.share!.ToArray().AsImmutable()))));
        var groups = new List<LeadMessage>();
        foreach (var (i, reply) in applied)
        {
            Seen(i, reply.Incarnation);
            groups.AddRange(reply.Groups);
        }

        if (groups.Count > 0)
        {
            var shared = groups.ToArray().AsImmutable();
            var replies = await Task.WhenAll(Enumerable.Range(0, _partitions).Select(i => Partition(i).ImportAccountAsync(shared)));
            for (int i = 0; i < _partitions; i++)
            {
                Seen(i, replies[i].Incarnation);
            }
        }

        // 5. The batch is in the log: it counts. Partitions activated again meanwhile replay it now.
        await services.Storage.AppendAsync(messages, groups, CancellationToken.None);
        foreach (int i in suspects)
        {
            _incarnations[i] = await Partition(i).ReloadAsync();
        }

        void Touch(string? id)
        {
            if (id is not null && _map.Contains(id))
            {
                var members = _map.Members(id);
                if (!before.ContainsKey(members))
                {
                    before[members] = ([.. members], _map.PartitionOf(id));
                }
            }
        }
    }
}
