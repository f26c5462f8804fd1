using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The batch form of scoring (spec 2.2–2.3, 3.5): link ids, drop duplicates, sort every message by
/// (timestamp, message id) and fold them through the same per-lead apply the streaming engine uses.
/// It holds every message in memory; hosts that stream use <see cref="LeadScoringEngine"/>, whose results equal these.
/// </summary>
public static class LeadScoringBatch
{
    /// <summary>Scores a set of messages as of <paramref name="asOf"/>; results are ordered by lead id (ordinal).</summary>
    public static IReadOnlyList<LeadResult> Score(CompiledModel model, IEnumerable<LeadMessage> messages, DateTimeOffset asOf, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        long t = asOf.UtcTicks;
        var counted = messages.Where(m => m.TimestampTicks <= t).ToList();

        // Spec 2.2: union-find over every id a message names.
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Find(string id)
        {
            if (!parent.TryGetValue(id, out var p))
            {
                parent[id] = id;
                return id;
            }

            if (p == id)
            {
                return id;
            }

            var root = Find(p);
            parent[id] = root;
            return root;
        }

        void Union(string? a, string? b)
        {
            if (a is null || b is null)
            {
                return;
            }

            string ra = Find(a), rb = Find(b);
            if (ra != rb)
            {
                parent[string.CompareOrdinal(ra, rb) < 0 ? rb : ra] = string.CompareOrdinal(ra, rb) < 0 ? ra : rb;
            }
        }

        foreach (var m in counted)
        {
            Find(m.LeadId);
            Union(m.UserId, m.AnonymousId);
            Union(m.UserId, m.PreviousId);
        }

        // Spec 2.1: of several messages with one messageId for one lead, the earliest counts.
        var kept = new Dictionary<(string Lead, string Id), LeadMessage>();
        foreach (var m in counted)
        {
            var key = (Find(m.LeadId), m.MessageId);
            if (!kept.TryGetValue(key, out var other) || LeadMessage.CompareTotal(m, other) < 0)
            {
                kept[key] = m;
            }
        }

        var ordered = kept.Select(kv => (Lead: kv.Key.Lead, Message: kv.Value)).ToList();
        ordered.Sort((a, b) => LeadMessage.CompareTotal(a.Message, b.Message));

        var accounts = new Accounts(ordered.Where(x => x.Message.Type == MessageType.Group).Select(x => x.Message));
        var evaluator = new Evaluator(model, accounts);
        var states = new Dictionary<string, LeadState>(StringComparer.Ordinal);
        foreach (var (lead, m) in ordered)
        {
            if (!states.TryGetValue(lead, out var state))
            {
                states[lead] = state = new LeadState(model);
            }

            evaluator.Apply(state, m);
        }

        return states.Values
            .Select(s => (Id: s.UserId ?? s.AnonymousId!, State: s))
            .OrderBy(x => x.Id, StringComparer.Ordinal)
            .Select(x => evaluator.Evaluate(x.State, x.Id, t, explain))
            .ToList();
    }

    /// <summary>Account traits by (timestamp, message id) over every group message, from any lead (spec 3.5).</summary>
    private sealed class Accounts : IAccountDirectory
    {
        private readonly Dictionary<string, List<LeadMessage>> _byGroup = new(StringComparer.Ordinal);

        public Accounts(IEnumerable<LeadMessage> groups)
        {
            foreach (var g in groups)
            {
                if (!_byGroup.TryGetValue(g.GroupId!, out var list))
                {
                    _byGroup[g.GroupId!] = list = [];
                }

                list.Add(g);
            }
        }

        public Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId)
        {
            if (!_byGroup.TryGetValue(groupId, out var list))
            {
                return null;
            }

            var merged = new Dictionary<string, DataValue>(StringComparer.Ordinal);
            foreach (var g in list)
            {
                int c = g.TimestampTicks.CompareTo(ticks);
                if (c > 0 || (c == 0 && messageId is not null && string.CompareOrdinal(g.MessageId, messageId) > 0))
                {
                    break;
                }

                DataValue.MergeTraits(merged, g.Traits);
            }

            return merged;
        }
    }
}
