using System.Text.Json;

namespace LeadScoring.Reference;

/// <summary>
/// An independent, naive and slow scorer written straight from the contract (docs/contract/scoring-model.md,
/// revision 2). It shares no code with the library: it reads the model and the messages with
/// <see cref="JsonDocument"/>, links ids (2.2), de-duplicates and orders each lead's messages (2.1, 2.3), walks
/// them one by one keeping only the list of awards and matches, and recomputes every score from scratch from
/// that list at every instant it needs one (3.5). Use it as the expected value in tests, never in production.
/// </summary>
public static class ReferenceScorer
{
    /// <summary>Scores every lead that has a counted message up to <paramref name="asOf"/>, ordered by lead id (contract 5).</summary>
    public static IReadOnlyList<ReferenceLead> Score(string modelJson, IEnumerable<string> messageLines, DateTimeOffset asOf, bool explain)
    {
        ArgumentNullException.ThrowIfNull(modelJson);
        ArgumentNullException.ThrowIfNull(messageLines);
        var model = ReferenceModel.Parse(modelJson);
        long T = asOf.UtcTicks;

        // Glossary and 2.1: only messages with timestamp <= T count, for everything (ids they link included).
        var messages = messageLines.SelectMany(ReferenceMessage.ParseLine).Where(m => m.Ticks <= T).ToList();

        // 2.2: ids named together by one message are one lead (union-find over every message's ids).
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Find(string id)
        {
            parent.TryAdd(id, id);
            while (parent[id] != id)
            {
                id = parent[id];
            }

            return id;
        }

        foreach (var m in messages)
        {
            var ids = m.Ids().ToList();
            foreach (var id in ids.Skip(1))
            {
                string a = Find(ids[0]), b = Find(id);
                if (a != b)
                {
                    parent[b] = a;
                }
            }
        }

        var leads = messages
            .GroupBy(m => Find(m.Ids().First()), StringComparer.Ordinal)
            .Select(g => Deduplicate(g))
            .ToList();

        // 3.5: an account's traits merge the group messages for its groupId of any lead, in the order of 2.3.
        var groupMessages = leads.SelectMany(l => l).Where(m => m.Type == "group")
            .OrderBy(m => m.Ticks).ThenBy(m => m.MessageId, StringComparer.Ordinal).ThenBy(m => m.Raw, StringComparer.Ordinal)
            .ToLookup(m => m.GroupId!, StringComparer.Ordinal);

        return leads
            .Select(l => new LeadWalk(model, groupMessages, l, T).Run(explain))
            .OrderBy(l => l.LeadId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The output lines of contract 5 for <paramref name="leads"/>.</summary>
    public static IReadOnlyList<string> Render(IEnumerable<ReferenceLead> leads) => leads.Select(l => l.ToJson()).ToList();

    /// <summary>
    /// 2.1: of several messages with the same messageId for one lead only the earliest counts. Two copies with the
    /// same id and the same timestamp are the same message; if their text differs (the contract is silent) the
    /// first by text counts. Then 2.3: ordered by timestamp, ties by messageId (ordinal).
    /// </summary>
    private static List<ReferenceMessage> Deduplicate(IEnumerable<ReferenceMessage> messages) =>
        messages
            .GroupBy(m => m.MessageId, StringComparer.Ordinal)
            .Select(g => g.OrderBy(m => m.Ticks).ThenBy(m => m.Raw, StringComparer.Ordinal).First())
            .OrderBy(m => m.Ticks).ThenBy(m => m.MessageId, StringComparer.Ordinal)
            .ToList();
}

/// <summary>One award (glossary): a rule's firing on one message; <see cref="Key"/> is its <c>limit.per</c> value.</summary>
internal sealed record Award(int Rule, long Ticks, string? Key);

/// <summary>Walks one lead's messages in the order of 2.3, with the stage clock's ticks in between (3.4).</summary>
internal sealed class LeadWalk(ReferenceModel model, ILookup<string, ReferenceMessage> groupMessages, List<ReferenceMessage> messages, long asOf)
{
    private readonly List<ReferenceMessage> _applied = [];
    private readonly List<Award> _awards = [];
    private readonly Dictionary<int, List<long>> _matches = [];
    private readonly Dictionary<int, int> _suppressed = [];
    private readonly List<ReferenceStageMove> _history = [];

    public ReferenceModel Model { get; } = model;

    /// <summary>Every counted group message of every lead, by groupId, each list in 2.3 order.</summary>
    public ILookup<string, ReferenceMessage> GroupMessages { get; } = groupMessages;

    public Dictionary<string, JsonElement> Traits { get; } = new(StringComparer.Ordinal);

    public string? GroupId { get; private set; }

    public int Stage { get; private set; }

    public IReadOnlyList<ReferenceMessage> Applied => _applied;

    public IReadOnlyList<Award> Awards => _awards;

    public ReferenceLead Run(bool explain)
    {
        // 3.4 (revision 2): ticks at k * stageCheckHours h after the epoch, strictly after the lead's first message and
        // strictly before T; every message with timestamp <= the tick is applied before it. No stages: no clock.
        bool clock = Model.Stages.Count > 1 && Model.StageCheckHours > 0;
        long step = Model.StageCheckHours * TimeSpan.TicksPerHour;
        long epoch = DateTimeOffset.UnixEpoch.UtcTicks;
        long tick = clock ? epoch + (Math.DivRem(messages[0].Ticks - epoch, step, out long rem) + (rem >= 0 ? 1 : 0)) * step : long.MaxValue;
        int next = 0;
        while (true)
        {
            bool tickDue = clock && tick < asOf;
            if (next < messages.Count && (!tickDue || messages[next].Ticks <= tick))
            {
                Apply(messages[next++]);
                continue;
            }

            if (!tickDue)
            {
                break;
            }

            Reevaluate(new Moment(this, tick, null, null));
            tick += step;
        }

        // 3.4: and at T.
        var atT = new Moment(this, asOf, null, null);
        Reevaluate(atT);

        List<ReferenceContribution>? contributions = null;
        if (explain)
        {
            contributions = [];
            for (int r = 0; r < Model.Rules.Count; r++)
            {
                var rule = Model.Rules[r];
                if (!rule.IsEvent)
                {
                    if (atT.TraitRuleHolds(rule))
                    {
                        contributions.Add(new ReferenceContribution(rule.Id, rule.Score, 1, 0, rule.Points));
                    }

                    continue;
                }

                int awards = _awards.Count(a => a.Rule == r);
                int suppressed = _suppressed.GetValueOrDefault(r);
                double points = atT.EventRulePoints(r);

                // 5 lists event rules "with at least one award or suppressed match"; the library also lists a rule
                // whose minPoints/maxPoints alone give it points, so that points add up to raw (docs/decisions.md).
                if (awards > 0 || suppressed > 0 || points != 0)
                {
                    contributions.Add(new ReferenceContribution(rule.Id, rule.Score, awards, suppressed, points));
                }
            }
        }

        return new ReferenceLead(
            LeadId(),
            new DateTimeOffset(asOf, TimeSpan.Zero),
            [.. Model.Scores.Select(s => new KeyValuePair<string, double>(s.Name, atT.ScoreValue(s.Name)))],
            atT.Grade(),
            atT.Persona(),
            Model.Stages.Count > 0 ? Model.Stages[Stage].Name : null,
            [.. _history],
            contributions);
    }

    /// <summary>2.2: the userId of the latest message (2.3 order) carrying one, else the anonymousId.</summary>
    private string LeadId() =>
        messages.LastOrDefault(m => m.UserId is not null)?.UserId ?? messages.First(m => m.AnonymousId is not null).AnonymousId!;

    /// <summary>2.3 and 3.2: apply one message, then re-evaluate the stage at its timestamp.</summary>
    private void Apply(ReferenceMessage m)
    {
        _applied.Add(m);
        switch (m.Type)
        {
            case "identify":
                MergeTraits(Traits, m.Traits);
                break;
            case "group":
                GroupId = m.GroupId;
                break;
            case "track":
            case "page":
                ApplyRules(m);
                break;
        }

        Reevaluate(new Moment(this, m.Ticks, null, m.MessageId));
    }

    private void ApplyRules(ReferenceMessage m)
    {
        // While a message is applied, conditions see the lead as the messages before it built it plus the message.
        var moment = new Moment(this, m.Ticks, m, m.MessageId);
        for (int r = 0; r < Model.Rules.Count; r++)
        {
            var rule = Model.Rules[r];
            if (!rule.IsEvent || !On(rule, m) || (rule.When is { } when && !ReferenceConditions.Holds(when, moment)))
            {
                continue;
            }

            // after: a candidate only if at least the n-th matching message (awarded or not) within (t - d, t].
            var matches = _matches.TryGetValue(r, out var list) ? list : _matches[r] = [];
            matches.Add(m.Ticks);
            if (rule.AfterCount is { } n && matches.Count(t => Within(t, m.Ticks, rule.AfterWithinDays!.Value)) < n)
            {
                continue;
            }

            // limit: fewer than k awards of this rule (with the same per value) with t - d < t_a <= t; without perDays, ever.
            string? key = rule.LimitPer is { } per ? PerKey(m, per) : null;
            if (rule.LimitCount is { } k)
            {
                int count = _awards.Count(a => a.Rule == r
                    && (rule.LimitPer is null || SameKey(a.Key, key))
                    && (rule.LimitPerDays is not { } d || Within(a.Ticks, m.Ticks, d)));
                if (count >= k)
                {
                    _suppressed[r] = _suppressed.GetValueOrDefault(r) + 1;
                    continue;
                }
            }

            _awards.Add(new Award(r, m.Ticks, key));
        }
    }

    /// <summary>Whether <paramref name="t"/> is in <c>(now - days, now]</c>.</summary>
    private static bool Within(long t, long now, double days) => t <= now && (now - t) < days * TimeSpan.TicksPerDay;

    /// <summary>3.2: <c>on</c> is event names (case-insensitive) or <c>$page</c> for page messages.</summary>
    private static bool On(RuleDef rule, ReferenceMessage m) =>
        rule.On!.Any(name => name == "$page"
            ? m.Type == "page"
            : m.Type == "track" && string.Equals(m.Event, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// limit.per: values compare case-insensitively, a missing field is one value of its own (null here). The
    /// contract is silent on how a number or object is keyed: as the library, by its JSON text (1 and "1" are one
    /// value, 1 and 1.0 two); objects and arrays are one value each kind.
    /// </summary>
    private static string? PerKey(ReferenceMessage m, string path)
    {
        var segments = path.Split('.');
        var root = segments[0] == "properties" ? m.Properties : segments[0] == "context" ? m.Context : null;
        var value = Value.FromJson(Value.Walk(root, segments.Skip(1)));
        return value is null ? null : value.Text ?? "\u0001" + value.Kind;
    }

    private static bool SameKey(string? a, string? b) => a is null ? b is null : b is not null && string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>3.5: merged key by key at the top level, later values overwriting earlier ones, null removing a trait.</summary>
    internal static void MergeTraits(Dictionary<string, JsonElement> target, JsonElement? traits)
    {
        if (traits is not { } t)
        {
            return;
        }

        foreach (var p in t.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null)
            {
                target.Remove(p.Name);
            }
            else
            {
                target[p.Name] = p.Value;
            }
        }
    }

    /// <summary>3.4: re-evaluate the stage at an instant; a move is recorded with that instant.</summary>
    private void Reevaluate(Moment moment)
    {
        var stages = Model.Stages;
        if (stages.Count < 2)
        {
            return;
        }

        int to = Stage;

        // 1. the highest higher stage whose enter holds.
        int higher = Enumerable.Range(Stage + 1, stages.Count - Stage - 1).Reverse().FirstOrDefault(i => ReferenceConditions.Holds(stages[i].Enter!.Value, moment), -1);
        if (higher >= 0)
        {
            to = higher;
        }
        else if (stages[Stage].Exit is { } exit && ReferenceConditions.Holds(exit, moment))
        {
            // 2. down to the highest lower stage whose enter holds (the first stage always holds).
            to = Enumerable.Range(1, Math.Max(0, Stage - 1)).Reverse().FirstOrDefault(j => ReferenceConditions.Holds(stages[j].Enter!.Value, moment), 0);
        }

        // 3. a stage without exit is never left downwards (nothing to do).
        if (to != Stage)
        {
            _history.Add(new ReferenceStageMove(stages[Stage].Name, stages[to].Name, new DateTimeOffset(moment.Now, TimeSpan.Zero)));
            Stage = to;
        }
    }
}

/// <summary>
/// The lead at one instant: the state the walk built so far, <see cref="Now"/>, and, only inside an event rule's
/// <c>when</c>, the message being applied. Everything is computed from scratch from the award list (3.5);
/// values are memoized only within one moment, where nothing changes.
/// </summary>
internal sealed class Moment(LeadWalk lead, long now, ReferenceMessage? message, string? orderId) : IConditionScope
{
    private readonly Dictionary<string, double> _scores = new(StringComparer.Ordinal);
    private Dictionary<string, JsonElement>? _account;
    private (bool Done, string? Name) _persona;

    public long Now { get; } = now;

    private ReferenceModel Model => lead.Model;

    /// <summary>This instant without a message: trait rules, personas, grades and stages never see one (3.3).</summary>
    private Moment Plain => message is null ? this : new Moment(lead, Now, null, orderId);

    public Value? Field(string path)
    {
        int dot = path.IndexOf('.', StringComparison.Ordinal);
        string root = dot < 0 ? path : path[..dot];
        string rest = dot < 0 ? "" : path[(dot + 1)..];
        var segments = rest.Split('.');
        switch (root)
        {
            case "traits":
                return lead.Traits.TryGetValue(segments[0], out var trait) ? Value.FromJson(Value.Walk(trait, segments.Skip(1))) : null;
            case "account":
                return Account() is { } account && account.TryGetValue(segments[0], out var at) ? Value.FromJson(Value.Walk(at, segments.Skip(1))) : null;
            case "properties":
                return message is null ? null : Value.FromJson(Value.Walk(message.Properties, segments));
            case "context":
                return message is null ? null : Value.FromJson(Value.Walk(message.Context, segments));
            case "event":
                // decisions.md: event exists on track messages only (a page's name is not its event).
                return message is { Type: "track" } ? Value.String(message.Event!) : null;
            case "scores":
                return Value.Computed(ScoreValue(rest));
            case "grade":
                return Grade() is { } g ? Value.String(g) : null;
            case "persona":
                return Persona() is { } p ? Value.String(p) : null;
            case "stage":
                return Model.Stages.Count > 0 ? Value.String(Model.Stages[lead.Stage].Name) : null;
            default:
                return null;
        }
    }

    public bool Occurred(IReadOnlyList<string> names, double? withinDays) =>
        lead.Applied.Any(m => m.Type == "track"
            && names.Any(n => string.Equals(n, m.Event, StringComparison.OrdinalIgnoreCase))
            && m.Ticks <= Now
            && (withinDays is not { } d || Now - m.Ticks < d * TimeSpan.TicksPerDay));

    /// <summary>
    /// 3.5: the traits of the lead's account (its latest group message) merged over every group message for that
    /// groupId with timestamp &lt;= now, in 2.3 order across leads; while a message is applied, those after it in
    /// that order (same timestamp, larger messageId) are not there yet.
    /// </summary>
    private Dictionary<string, JsonElement>? Account()
    {
        if (lead.GroupId is null)
        {
            return null;
        }

        if (_account is null)
        {
            _account = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var g in lead.GroupMessages[lead.GroupId])
            {
                bool upToNow = g.Ticks < Now || (g.Ticks == Now && (orderId is null || string.CompareOrdinal(g.MessageId, orderId) <= 0));
                if (upToNow)
                {
                    LeadWalk.MergeTraits(_account, g.Traits);
                }
            }
        }

        return _account;
    }

    public double ScoreValue(string name)
    {
        if (_scores.TryGetValue(name, out double v))
        {
            return v;
        }

        var score = Model.Score(name);
        if (score.Sum is { } sum)
        {
            double total = 0;
            foreach (var (component, weight) in sum)
            {
                total += weight * ScoreValue(component);
            }

            v = score.Clamp(total);
        }
        else
        {
            v = score.Clamp(Raw(name));
        }

        _scores[name] = v;
        return v;
    }

    /// <summary>3.5: trait rules that hold plus each event rule's clamped share, rules in document order.</summary>
    private double Raw(string name)
    {
        double raw = 0;
        for (int r = 0; r < Model.Rules.Count; r++)
        {
            var rule = Model.Rules[r];
            if (rule.Score != name)
            {
                continue;
            }

            if (rule.IsEvent)
            {
                raw += EventRulePoints(r);
            }
            else if (TraitRuleHolds(rule))
            {
                raw += rule.Points;
            }
        }

        return raw;
    }

    public bool TraitRuleHolds(RuleDef rule) => rule.When is not { } when || ReferenceConditions.Holds(when, Plain);

    /// <summary>3.5: clamp(share(r, now), minPoints, maxPoints).</summary>
    public double EventRulePoints(int r)
    {
        var rule = Model.Rules[r];
        double? halfLife = rule.HalfLifeDays ?? Model.Score(rule.Score).HalfLifeDays;
        double share = 0;
        foreach (var a in lead.Awards)
        {
            if (a.Rule != r || a.Ticks > Now)
            {
                continue;
            }

            double days = (Now - a.Ticks) / (double)TimeSpan.TicksPerDay;
            if (rule.ExpiresAfterDays is { } expires && !(days < expires))
            {
                continue; // an award counts only while T - t_a < expiresAfterDays
            }

            share += halfLife is { } h ? rule.Points * Math.Pow(2, -days / h) : rule.Points;
        }

        if (rule.MinPoints is { } min && share < min)
        {
            share = min;
        }

        if (rule.MaxPoints is { } max && share > max)
        {
            share = max;
        }

        return share;
    }

    /// <summary>3.4: the first band whose min is at most the value; the last band catches the rest.</summary>
    public string? Grade()
    {
        if (Model.Grade is not { } grade)
        {
            return null;
        }

        double value = ScoreValue(grade.Score);
        return grade.Bands.First(b => b.Min is not { } min || min <= value).Grade;
    }

    /// <summary>3.4: the first persona whose when holds on the lead's traits (and account); none: null.</summary>
    public string? Persona()
    {
        if (!_persona.Done)
        {
            var plain = Plain;
            _persona = (true, Model.Personas.FirstOrDefault(p => ReferenceConditions.Holds(p.When, plain)).Name);
        }

        return _persona.Name;
    }
}
