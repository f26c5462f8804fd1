using System.Text.Json;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Output;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;
using Orleans.Placement;
using Orleans.Runtime;

namespace LeadScoring.Orleans;

/// <summary>
/// One partition of the identity space: one <see cref="LeadScoringEngine"/> for the leads whose ids map to it (see
/// <see cref="IdentityMap"/>). On activation (on any silo, after a crash too) it replays its messages and every group
/// message from the log, so it resumes exactly. It tells <see cref="IStageChangedHandler"/>s about new stage moves
/// through the store's outbox (at least once, same idempotency key), and runs the stage clock on a reminder.
/// </summary>
/// <remarks>
/// Placed by the hash of its key over the silos (not by load: the 16 partitions are activated at once, when load
/// figures are not in yet, and would all land on one silo), so that the partitions spread over the cluster.
/// </remarks>
[HashBasedPlacement]
internal sealed class PartitionGrain(LeadScoringSiloServices services, ILogger<PartitionGrain> logger) : Grain, IPartitionGrain, IRemindable
{
    private const string ClockReminder = "leadscoring-stage-clock";

    /// <summary>Loads from the log in this process since start (activations and reloads; for tests and diagnostics).</summary>
    internal static long Loads;

    private readonly Guid _incarnation = Guid.NewGuid();
    private readonly Dictionary<string, HashSet<StageMove>> _told = new(StringComparer.Ordinal);
    private LeadScoringEngine _engine = services.NewEngine();

    private int Index => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        var period = services.StageClockPeriod;
        if (services.Options.UseStageClockReminders && period > TimeSpan.Zero)
        {
            await this.RegisterOrUpdateReminder(ClockReminder, period, period);
        }
    }

    public Task<Guid> GetIncarnationAsync() => Task.FromResult(_incarnation);

    public async Task<Guid> ReloadAsync()
    {
        await LoadAsync(CancellationToken.None);
        return _incarnation;
    }

    public async Task<PartitionReply> ApplyAsync(Immutable<LeadMessage[]> messages)
    {
        List<LeadMessage>? groups = null;
        var batch = messages.Value;
        var outcomes = new ApplyOutcome[batch.Length];
        _engine.Apply(batch, outcomes); // the batch apply: the next leads' rows are fetched while one is applied
        for (int i = 0; i < batch.Length; i++)
        {
            if (batch[i].Type == MessageType.Group && outcomes[i] != ApplyOutcome.Duplicate)
            {
                (groups ??= []).Add(batch[i]);
            }
        }

        await NotifyChangesAsync();
        return new PartitionReply { Incarnation = _incarnation, Groups = groups is null ? [] : [.. groups] };
    }

    public async Task<PartitionReply> ImportAccountAsync(Immutable<LeadMessage[]> groups)
    {
        _engine.ImportAccountMessages(groups.Value);
        await NotifyChangesAsync();
        return new PartitionReply { Incarnation = _incarnation };
    }

    public async Task<PartitionReply> ExportAsync(string[] ids)
    {
        var leads = new List<LeadTransfer>();
        foreach (var id in ids)
        {
            if (_engine.ExportLead(id) is not { } snapshot)
            {
                continue;   // moved with an earlier id of the same lead, or never here
            }

            var told = new HashSet<StageMove>();
            foreach (var known in snapshot.Ids.Append(snapshot.LeadId))
            {
                if (_told.Remove(known, out var moves))
                {
                    told.UnionWith(moves);
                }
            }

            _engine.RemoveLead(snapshot.LeadId);
            leads.Add(LeadTransfer.From(snapshot, told));
        }

        await NotifyChangesAsync();
        return new PartitionReply { Incarnation = _incarnation, Leads = [.. leads] };
    }

    public async Task<PartitionReply> ImportAsync(Immutable<LeadTransfer[]> leads)
    {
        foreach (var lead in leads.Value)
        {
            // After a reload this partition may hold the lead already, replayed from the log: the log is complete.
            if (lead.Ids.Append(lead.LeadId).Any(_engine.Contains))
            {
                continue;
            }

            var told = GetTold(lead.LeadId);
            told.UnionWith(lead.Told.Select(t => t.ToMove()));
            _engine.ImportLead(lead.ToSnapshot());
        }

        await NotifyChangesAsync();
        return new PartitionReply { Incarnation = _incarnation };
    }

    public Task<string?> EvaluateAsync(string leadId, DateTimeOffset asOf, bool explain) =>
        Task.FromResult(_engine.Evaluate(leadId, asOf, explain) is { } result ? LeadResultJson.ToJson(result) : null);

    public Task<PartitionResults> EvaluateAllAsync(DateTimeOffset asOf, bool explain)
    {
        var ids = new List<string>();
        var lines = new List<string>();
        foreach (var result in _engine.EvaluateAll(asOf, explain))
        {
            ids.Add(result.LeadId);
            lines.Add(LeadResultJson.ToJson(result));
        }

        return Task.FromResult(new PartitionResults { LeadIds = [.. ids], Lines = [.. lines] });
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ClockReminder)
        {
            await RunStageClockAsync();
        }
    }

    public async Task<int> RunStageClockAsync()
    {
        var now = services.Time.GetUtcNow();
        var outgoing = new List<StageChangedArguments>();
        foreach (var id in _engine.TakeDueLeads(now))
        {
            if (_engine.Evaluate(id, now) is not { } result)
            {
                continue;
            }

            var told = GetTold(id);
            foreach (var move in result.StageHistory)
            {
                if (told.Add(move))
                {
                    outgoing.Add(new StageChangedArguments(id, move.From, move.To, move.At, result.ModelVersion, null));
                }
            }
        }

        await TellAsync(outgoing);
        return outgoing.Count;
    }

    // ------------------------------------------------------------------ loading from the log

    /// <summary>
    /// Replays this partition's share of the log into a new engine: the messages of the ids that map here (the map is
    /// built from the whole log first), then every group message. The stage moves of the replayed leads were told
    /// before (or are in the outbox, delivered again now): they are not told again.
    /// </summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Loads);
        var map = new IdentityMap(services.Options.Partitions);
        var log = new List<LeadMessage>();
        await foreach (var m in services.Storage.ReadMessagesAsync(cancellationToken))
        {
            map.Add(m);
            log.Add(m);
        }

        var engine = services.NewEngine();
        int self = Index;
        foreach (var m in log)
        {
            if (map.PartitionOf(m) == self)
            {
                engine.Apply(m);
            }
        }

        var groups = new List<LeadMessage>();
        await foreach (var m in services.Storage.ReadAccountMessagesAsync(cancellationToken))
        {
            groups.Add(m);
        }

        engine.ImportAccountMessages(groups);
        engine.TakeChanges();
        _engine = engine;
        _told.Clear();
        if (services.Handlers.Count == 0)
        {
            return;
        }

        foreach (var id in engine.LeadIds())
        {
            if (engine.EvaluateLatest(id) is { } result && result.StageHistory.Length > 0)
            {
                _told[id] = [.. result.StageHistory];
            }
        }

        // Notifications committed but not acknowledged (this partition, or a silo holding it, died before): again.
        var pending = await services.Storage.PendingNotificationsAsync(cancellationToken);
        var mine = pending.Where(n => n.Kind == LeadNotificationKind.StageChanged && map.PartitionOf(n.LeadId) == self).ToList();
        if (mine.Count > 0)
        {
            logger.LogInformation("Partition {Partition}: delivering {Count} stage notification(s) left in the outbox.", self, mine.Count);
            await DeliverAsync([.. mine.Select(n => (n.Key, Parse(n.Payload)))]);
        }
    }

    // ------------------------------------------------------------------ notifications

    private HashSet<StageMove> GetTold(string leadId)
    {
        if (!_told.TryGetValue(leadId, out var told))
        {
            _told[leadId] = told = [];
        }

        return told;
    }

    /// <summary>Tells the handlers the stage moves of the leads changed since the last call that were not told before.</summary>
    private async Task NotifyChangesAsync()
    {
        var changes = _engine.TakeChanges();
        if (services.Handlers.Count == 0 || changes.Changed.Count == 0)
        {
            return;
        }

        var outgoing = new List<StageChangedArguments>();
        foreach (var id in changes.Changed)
        {
            if (_engine.EvaluateLatest(id) is not { } result)
            {
                continue;
            }

            // What was told under any id of the lead (it may have been reported under another id, or have been two leads).
            var told = new HashSet<StageMove>();
            foreach (var known in _engine.ExportLead(id)!.Ids.Append(id))
            {
                if (_told.Remove(known, out var moves))
                {
                    told.UnionWith(moves);
                }
            }

            foreach (var move in result.StageHistory)
            {
                if (told.Add(move))
                {
                    outgoing.Add(new StageChangedArguments(id, move.From, move.To, move.At, result.ModelVersion, result.LatestMessageId));
                }
            }

            _told[id] = told;
        }

        await TellAsync(outgoing);
    }

    /// <summary>Outbox first (so a crash before delivery delivers again), then the handlers, then the acknowledgement.</summary>
    private async Task TellAsync(List<StageChangedArguments> outgoing)
    {
        if (outgoing.Count == 0 || services.Handlers.Count == 0)
        {
            return;
        }

        var notifications = outgoing.Select(a => new LeadNotification(a.IdempotencyKey, LeadNotificationKind.StageChanged, a.LeadId, Payload(a))).ToList();
        await services.Storage.AddNotificationsAsync(notifications, CancellationToken.None);
        await DeliverAsync([.. outgoing.Select(a => (a.IdempotencyKey, a))]);
    }

    private async Task DeliverAsync(List<(string Key, StageChangedArguments Arguments)> outgoing)
    {
        var delivered = new List<string>(outgoing.Count);
        foreach (var (key, args) in outgoing)
        {
            try
            {
                foreach (var handler in services.Handlers)
                {
                    await handler.OnStageChangedAsync(args, CancellationToken.None);
                }

                delivered.Add(key);
            }
            catch (Exception ex)
            {
                // Left in the outbox: delivered again when this partition is next loaded.
                logger.LogError(ex, "Partition {Partition}: a stage handler failed on {Key}; the notification stays in the outbox.", Index, key);
            }
        }

        if (delivered.Count > 0)
        {
            await services.Storage.AcknowledgeAsync(delivered, CancellationToken.None);
        }
    }

    private static string Payload(StageChangedArguments a)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("leadId", a.LeadId);
            w.WriteString("from", a.From);
            w.WriteString("to", a.To);
            w.WriteString("at", a.At);
            w.WriteString("modelVersion", a.ModelVersion);
            w.WriteString("messageId", a.MessageId);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static StageChangedArguments Parse(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        var r = doc.RootElement;
        return new StageChangedArguments(
            r.GetProperty("leadId").GetString()!, r.GetProperty("from").GetString()!, r.GetProperty("to").GetString()!,
            r.GetProperty("at").GetDateTimeOffset(), r.GetProperty("modelVersion").GetString()!, r.GetProperty("messageId").GetString());
    }
}
