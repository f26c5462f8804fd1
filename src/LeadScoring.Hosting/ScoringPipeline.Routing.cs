using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>Routing: the partition of each message, and moving leads between partitions when a message links them.</summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>The partition of a message's lead; moves leads so that ids linked by this message share one.</summary>
    private int Route(LeadMessage m)
    {
        Span<int> known = stackalloc int[3];
        ReadOnlySpan<string?> ids = [m.UserId, m.AnonymousId, m.PreviousId];   // on the stack: nothing per message
        int target = -1;
        for (int i = 0; i < ids.Length; i++)
        {
            known[i] = ids[i] is { } id && _route.TryGetValue(id, out int p) ? p : -1;
            if (target < 0 && known[i] >= 0)
            {
                target = known[i];
            }
        }

        if (target < 0)
        {
            target = Home(m.LeadId);
        }

        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] is not { } id)
            {
                continue;
            }

            if (known[i] == target)
            {
                continue;   // already routed here (the common case: a known lead's next message)
            }

            if (known[i] >= 0 && _route[id] != target)
            {
                Move(id, _partitions[known[i]], target);
            }

            _route[id] = target;
        }

        return target;
    }

    /// <summary>
    /// Moves the lead known by <paramref name="id"/> from <paramref name="from"/> to partition <paramref name="target"/>:
    /// its applied state, and the messages of this batch already routed to <paramref name="from"/> for it (or for
    /// any id they link to it), in their order.
    /// </summary>
    private void Move(string id, Partition from, int target)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal) { id };
        var snapshot = from.Engine.ExportLead(id);
        if (snapshot is not null)
        {
            ids.UnionWith(snapshot.Ids);
            from.Engine.RemoveLead(id);
            _partitions[target].Engine.ImportLead(snapshot);
        }

        bool grew = true;
        var pending = from.Batch;
        var moving = new bool[pending.Count];
        while (grew)
        {
            grew = false;
            for (int j = 0; j < pending.Count; j++)
            {
                var m = pending[j];
                if (!moving[j] && (Has(ids, m.UserId) || Has(ids, m.AnonymousId) || Has(ids, m.PreviousId)))
                {
                    moving[j] = true;
                    grew |= Add(ids, m.UserId) | Add(ids, m.AnonymousId) | Add(ids, m.PreviousId);
                }
            }
        }

        var stay = new List<LeadMessage>(pending.Count);
        for (int j = 0; j < pending.Count; j++)
        {
            (moving[j] ? _partitions[target].Batch : stay).Add(pending[j]);
        }

        pending.Clear();
        pending.AddRange(stay);
        foreach (var moved in ids)
        {
            _route[moved] = target;
        }

        static bool Has(HashSet<string> set, string? value) => value is not null && set.Contains(value);

        static bool Add(HashSet<string> set, string? value) => value is not null && set.Add(value);
    }
}
