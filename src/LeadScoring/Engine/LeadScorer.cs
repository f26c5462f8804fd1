using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>What <see cref="LeadScorer.ApplyJson"/> did with one line of JSON.</summary>
public readonly struct JsonApplyResult
{
    internal JsonApplyResult(ApplyOutcome outcome, string? error, string? ignoredType)
    {
        Outcome = outcome;
        Error = error;
        IgnoredType = ignoredType;
    }

    /// <summary>What was done with the message; meaningful only when <see cref="IsApplied"/>.</summary>
    public ApplyOutcome Outcome { get; }

    /// <summary>Why the message was rejected (the same reasons as <see cref="MessageParser"/>), or null.</summary>
    public string? Error { get; }

    /// <summary>The type of a valid message the scorer ignores (e.g. <c>screen</c>), or null.</summary>
    public string? IgnoredType { get; }

    /// <summary>Whether the message was rejected.</summary>
    public bool IsRejected => Error is not null;

    /// <summary>Whether the message is of an ignored type.</summary>
    public bool IsIgnored => IgnoredType is not null;

    /// <summary>Whether the message reached its lead (see <see cref="Outcome"/>).</summary>
    public bool IsApplied => Error is null && IgnoredType is null;
}

/// <summary>
/// The fast scorer for streams that arrive in order, such as a log replayed from disk or a live feed: one flat
/// row per lead, no message journal, no snapshots. Applying an in-order message allocates nothing and costs about
/// as much as hand-written code for the same rules. A late message (older than its lead's latest) is applied as it
/// comes and counted as <see cref="ApplyOutcome.BeyondHorizon"/>: the scorer behaves like a
/// <see cref="LeadScoringEngine"/> with a zero reorder horizon. Use <see cref="LeadScoringEngine"/> when arrival
/// order must not matter. Not thread-safe; the <see cref="CompiledModel"/> may be shared.
/// </summary>
/// <remarks>
/// Where the model allows it (no stages beyond one, no decay or expiry, no per-value limits, no <c>after</c>, no
/// <c>occurred</c>, no account fields), a lead is a row of flat arrays: counters and limit windows at a fixed
/// offset, traits as a small array of pooled values, and the bits of the trait conditions the event rules test.
/// Other models keep a full lead state per lead, with the same results. Scores, explanations and stages are
/// computed by the same evaluator as <see cref="LeadScoringEngine"/>.
/// </remarks>
public sealed partial class LeadScorer
{
    private const int MaxPooled = 1 << 20;

    private readonly Evaluator _evaluator;
    private readonly FastPlan? _plan;
    private readonly LeadState _scratch;
    private readonly LeadState _scratch2;
    private readonly IdTable _ids = new();
    private readonly LatestAccounts? _accounts;
    private readonly int _countStride;
    private readonly int _ringStride;
    private readonly int _windowStride;
    private readonly Dictionary<string, string> _keyPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DataValue> _stringPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DataValue> _numberPool = new(StringComparer.Ordinal);
    private readonly int _cellStride;
    private readonly double[] _raw;

    /// <summary>The trait bits of a lead without traits: conditions such as <c>notExists</c> hold on it.</summary>
    private readonly ulong _emptyTraitBits;
    private readonly double[] _values;
    private readonly string?[] _eventNames = new string?[8];
    private readonly FastRuleSet?[] _eventSets = new FastRuleSet?[8];
    private int _nextEvent;
    private HotRow[] _hot = new HotRow[64];
    private ColdRow[] _rows = new ColdRow[64];
    private LeadState?[] _states = [];
    private int[] _cells = [];
    /// <summary>Window times as seconds since <see cref="EpochTicks"/>: half the memory of ticks.</summary>
    private int[] _ring32 = [];

    /// <summary>Window times as ticks, once a time that is not a whole second (or outside 1932–2068) turned up.</summary>
    private long[]? _ring64;
    private int _rowCount;
    private int _removed;

    /// <summary>Creates a scorer for a compiled model.</summary>
    public LeadScorer(CompiledModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _plan = FastPlan.TryCreate(model);
        _accounts = model.UsesAccount ? new LatestAccounts() : null;
        _evaluator = new Evaluator(model, _accounts);
        _scratch = new LeadState(model) { Traits = new Dictionary<string, DataValue>(StringComparer.Ordinal) };
        _scratch2 = new LeadState(model) { Traits = new Dictionary<string, DataValue>(StringComparer.Ordinal) };
        _countStride = model.EventRuleCount * 2;
        _ringStride = model.RingSlots;
        _windowStride = model.RingCount;
        _cellStride = _countStride + _windowStride;
        _raw = new double[model.Scores.Length];
        _emptyTraitBits = _plan is null ? 0 : TraitBitsOf(null);
        _values = new double[model.Scores.Length];
        if (_plan is null)
        {
            _states = new LeadState?[_rows.Length];
        }
        else
        {
            _cells = new int[_rows.Length * _cellStride];
            if (_plan.Rules.All(r => r.LimitWindowTicks % TimeSpan.TicksPerSecond == 0))
            {
                _ring32 = new int[_rows.Length * _ringStride];
            }
            else
            {
                _ring64 = new long[_rows.Length * _ringStride];
            }
        }
    }

    /// <summary>The compiled model.</summary>
    public CompiledModel Model { get; }

    /// <summary>The scorer's counters.</summary>
    public EngineStatistics Statistics { get; } = new();

    /// <summary>How many leads the scorer holds.</summary>
    public int LeadCount => _rowCount - _removed;

    /// <summary>
    /// Whether leads are kept as flat rows (the model allows it), rather than a full lead state each. Both give the
    /// same results; flat rows are smaller and faster.
    /// </summary>
    public bool UsesFlatRows => _plan is not null;

    /// <summary>Applies one message to its lead.</summary>
    public ApplyOutcome Apply(LeadMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);

        // The hot path: the next track, page or identify message of a known lead, by its user id alone, on flat rows.
        if (_plan is { } plan && message.UserId is { } user && message.AnonymousId is null && message.PreviousId is null)
        {
            // The message's field bits first: they depend only on the message, so their memory reads overlap
            // with the lead lookup's below instead of waiting for them.
            FastRuleSet? set = null;
            ulong messageBits = 0;
            var type = message.Type;
            if (type == MessageType.Page)
            {
                set = plan.Page;
                messageBits = MessageBits(set, message);
            }
            else if (type == MessageType.Track)
            {
                set = EventSet(plan, message.Event!);
                messageBits = set is null ? 0 : MessageBits(set, message);
            }
            else if (type != MessageType.Identify)
            {
                return ApplySlow(message);
            }

            int row = _ids.Find(user);
            if (row >= 0)
            {
                ref HotRow r = ref _hot[row];
                long t = message.TimestampTicks;
                string id = message.MessageId;
                if (t > r.LastTicks && r.UserId is { } known && (ReferenceEquals(user, known) || string.Equals(user, known, StringComparison.Ordinal)) && !IsLastId(ref r, id))
                {
                    if (set is not null)
                    {
                        ApplyRules(row, r.TraitBits, set, messageBits, t);
                    }
                    else if (type == MessageType.Identify && message.Traits is not null)
                    {
                        ref ColdRow cold = ref _rows[row];
                        cold.Traits = MergeTraits(cold.Traits, message.Traits);
                        r.TraitBits = TraitBitsOf(cold.Traits);
                    }

                    r.LastTicks = t;
                    r.LastMessageId = id;
                    r.IdLength = 0;
                    r.LastIdKey = IdKey(id);
                    r.MessageCount++;
                    r.UserIdAtLast = true;
                    Statistics.Applied++;
                    return ApplyOutcome.Applied;
                }
            }
        }

        return ApplySlow(message);
    }

    /// <summary>Every other message: new leads, ids to link, late messages, duplicates, group and alias messages.</summary>
    private ApplyOutcome ApplySlow(LeadMessage message)
    {
        int row = RowFor(message);
        long t = message.TimestampTicks;
        string id = message.MessageId;
        long lastTicks;
        string? lastId;
        if (_plan is null)
        {
            var s = _states[row]!;
            (lastTicks, lastId) = (s.LastTicks, s.LastMessageId);
        }
        else
        {
            (lastTicks, lastId) = (_hot[row].LastTicks, LastIdOf(ref _hot[row]));
        }

        // De-duplication without a journal: a copy of the lead's latest message is a duplicate.
        if (string.Equals(id, lastId, StringComparison.Ordinal))
        {
            Statistics.Duplicates++;
            return ApplyOutcome.Duplicate;
        }

        bool inOrder = t > lastTicks || (t == lastTicks && string.CompareOrdinal(id, lastId) > 0);
        ApplyOutcome outcome;
        if (inOrder)
        {
            Statistics.Applied++;
            outcome = ApplyOutcome.Applied;
        }
        else
        {
            Statistics.BeyondHorizon++;
            outcome = ApplyOutcome.BeyondHorizon;
        }

        if (_plan is null)
        {
            if (message.Type == MessageType.Group && message.GroupId is { } group)
            {
                _accounts?.Merge(group, message.Traits);
            }

            _evaluator.Apply(_states[row]!, message);
            return outcome;
        }

        // On flat rows: the general evaluator on a full state loaded from the row and stored back.
        Load(row, _scratch);
        _evaluator.Apply(_scratch, message);
        Store(row, _scratch, message.Traits is not null);
        return outcome;
    }

    /// <summary>A cheap digest of a message id, so the duplicate check rarely reads the previous id's characters.</summary>
    private static int IdKey(ReadOnlySpan<char> id) => id.Length == 0 ? 0 : (id.Length * 65_599) ^ (id[^1] << 16) ^ id[id.Length >> 1];

    private static bool IsLastId(ref HotRow r, string id) =>
        ReferenceEquals(id, r.LastMessageId) || (r.LastIdKey == IdKey(id) && SameLastId(ref r, id));

    /// <summary>Whether <paramref name="id"/> is the row's latest message id, held as a string or inline.</summary>
    private static bool SameLastId(ref HotRow r, ReadOnlySpan<char> id)
    {
        if (r.LastMessageId is { } last)
        {
            return id.SequenceEqual(last);
        }

        return r.IdLength != 0 && r.IdLength == id.Length && TryPack(id, out ulong lo, out ulong hi) && lo == r.IdLo && hi == r.IdHi;
    }

    /// <summary>
    /// Packs an id of up to 16 ASCII characters into two words, so the JSON path keeps a lead's latest message id
    /// without allocating a string per message (ids such as "e123456" or a 16-character hex id).
    /// </summary>
    private static bool TryPack(ReadOnlySpan<char> id, out ulong lo, out ulong hi)
    {
        lo = hi = 0;
        if (id.Length is 0 or > 16)
        {
            return false;
        }

        for (int i = 0; i < id.Length; i++)
        {
            char c = id[i];
            if (c > 0x7F)
            {
                return false;
            }

            if (i < 8)
            {
                lo |= (ulong)c << (8 * i);
            }
            else
            {
                hi |= (ulong)c << (8 * (i - 8));
            }
        }

        return true;
    }

    /// <summary>The row's latest message id as a string (made from the packed form when needed).</summary>
    private static string? LastIdOf(ref HotRow r)
    {
        if (r.LastMessageId is { } last || r.IdLength == 0)
        {
            return r.LastMessageId;
        }

        Span<char> chars = stackalloc char[16];
        for (int i = 0; i < r.IdLength; i++)
        {
            chars[i] = (char)(byte)((i < 8 ? r.IdLo >> (8 * i) : r.IdHi >> (8 * (i - 8))) & 0xFF);
        }

        return new string(chars[..r.IdLength]);
    }

    /// <summary>Sets the row's latest message id from characters: packed when it fits, else as a string.</summary>
    private static void SetLastId(ref HotRow r, ReadOnlySpan<char> id)
    {
        r.LastIdKey = IdKey(id);
        if (TryPack(id, out ulong lo, out ulong hi))
        {
            r.LastMessageId = null;
            (r.IdLo, r.IdHi, r.IdLength) = (lo, hi, (byte)id.Length);
        }
        else
        {
            r.LastMessageId = id.ToString();
            r.IdLength = 0;
        }
    }

    /// <summary>The rules of a track event, with a small cache by reference for the names a host passes again and again.</summary>
    private FastRuleSet? EventSet(FastPlan plan, string name)
    {
        var names = _eventNames;
        for (int i = 0; i < names.Length; i++)
        {
            if (ReferenceEquals(names[i], name))
            {
                return _eventSets[i];
            }
        }

        plan.Events.TryGetValue(name, out var set);
        names[_nextEvent] = name;
        _eventSets[_nextEvent] = set;
        _nextEvent = (_nextEvent + 1) & (names.Length - 1);
        return set;
    }

    private static ulong MessageBits(FastRuleSet set, LeadMessage m)
    {
        ulong bits = 0;
        foreach (var field in set.Fields)
        {
            bits |= field.Bits(m);
        }

        return bits;
    }

    /// <summary>
    /// Parses one Segment message from UTF-8 JSON (one line of a JSON Lines file) and applies it. A message that
    /// cannot be used is not applied: the result carries the reason, worded as <see cref="MessageParser"/> words it.
    /// An in-order track, page or identify message of a lead known by its <c>userId</c> (or an identify of a new one) is
    /// read straight from the bytes, without building a <see cref="LeadMessage"/>; a track or page line allocates
    /// nothing when its <c>messageId</c> is at most 16 ASCII characters, else only that id.
    /// </summary>
    public JsonApplyResult ApplyJson(ReadOnlySpan<byte> utf8Json)
    {
        if (_plan is not null && TryApplyFast(utf8Json, out var fast))
        {
            return new JsonApplyResult(fast, null, null);
        }

        var parsed = MessageParser.Parse(utf8Json);
        if (parsed.Message is { } m)
        {
            return new JsonApplyResult(Apply(m), null, null);
        }

        return new JsonApplyResult(ApplyOutcome.Applied, parsed.Error, parsed.IgnoredType);
    }

    /// <summary>Evaluates the lead known by <paramref name="leadId"/> (any of its ids) at <paramref name="asOf"/>.</summary>
    /// <returns>The result, or null when no message of that id was applied.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="asOf"/> is before the lead's latest message: the scorer keeps no history to rewind.
    /// </exception>
    public LeadResult? Evaluate(string leadId, DateTimeOffset asOf, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        return row < 0 ? null : Evaluate(row, asOf.UtcTicks, explain);
    }

    /// <summary>Evaluates every lead at <paramref name="asOf"/>, ordered by lead id (ordinal).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="asOf"/> is before a lead's latest message.</exception>
    public IEnumerable<LeadResult> EvaluateAll(DateTimeOffset asOf, bool explain = false)
    {
        long ticks = asOf.UtcTicks;
        foreach (var (_, row) in OrderedRows())
        {
            yield return Evaluate(row, ticks, explain);
        }
    }

    /// <summary>The reported ids of every lead, ordered (ordinal).</summary>
    public IReadOnlyList<string> LeadIds() => [.. OrderedRows().Select(x => x.Id)];

    /// <summary>
    /// The value of score <paramref name="scoreIndex"/> (an index into <see cref="CompiledModel.ScoreNames"/>) of the
    /// lead known by <paramref name="leadId"/> at <paramref name="asOf"/>, without building a <see cref="LeadResult"/>:
    /// allocates nothing.
    /// </summary>
    /// <returns>False when the lead is unknown.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="scoreIndex"/> is not a score of the model, or <paramref name="asOf"/> is before the lead's latest message.
    /// </exception>
    public bool TryGetScore(string leadId, int scoreIndex, DateTimeOffset asOf, out double value)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        ArgumentOutOfRangeException.ThrowIfNegative(scoreIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(scoreIndex, Model.ScoreNames.Length);
        value = 0;
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return false;
        }

        if (_plan?.TraitRules is { } traitRules)
        {
            value = ScoreOfRow(row, traitRules, asOf.UtcTicks, scoreIndex);
            return true;
        }

        var state = StateOf(row, asOf.UtcTicks);
        value = _evaluator.ScoreAt(state, asOf.UtcTicks, scoreIndex);
        return true;
    }

    /// <summary>
    /// A score straight from a flat row, when every trait rule is a test on the lead's trait bits: the evaluator's
    /// arithmetic (spec 3.5, one running sum per score in rule order, then bounds, then weighted sums) on bits and
    /// counters, without loading a full state. Flat models have no decay or expiry, so scores do not depend on the
    /// instant beyond it not being before the lead's latest message.
    /// </summary>
    private double ScoreOfRow(int row, TraitRuleBits?[] traitRules, long asOf, int scoreIndex)
    {
        ref HotRow r = ref _hot[row];
        if (r.LastTicks > asOf)
        {
            _ = StateOf(row, asOf); // throws, with the message
        }

        var raw = _raw;
        var values = _values;
        Array.Clear(raw);
        var counts = _cells.AsSpan(row * _cellStride, _countStride);
        foreach (var rule in Model.Rules)
        {
            if (!rule.IsEvent)
            {
                if (traitRules[rule.Index]!.Holds(r.TraitBits))
                {
                    raw[rule.ScoreIndex] += rule.Points;
                }

                continue;
            }

            int awards = counts[2 * rule.EventIndex];
            double share;
            if (rule.PointsAreWhole)
            {
                share = awards * rule.Points;
            }
            else
            {
                share = 0;
                for (int i = 0; i < awards; i++)
                {
                    share += rule.Points;
                }
            }

            raw[rule.ScoreIndex] += rule.ClampShare(Evaluator.Finite(share));
        }

        var scores = Model.Scores;
        for (int s = 0; s < scores.Length; s++)
        {
            if (!scores[s].IsComposite)
            {
                raw[s] = Evaluator.Finite(raw[s]);
                values[s] = scores[s].Clamp(raw[s]);
            }
        }

        foreach (int s in Model.CompositeOrder)
        {
            double sum = 0;
            foreach (var (component, weight) in scores[s].Components)
            {
                sum += weight * values[component];
            }

            raw[s] = Evaluator.Finite(sum);
            values[s] = scores[s].Clamp(raw[s]);
        }

        return values[scoreIndex];
    }

    // ------------------------------------------------------------------ rows

    private LeadResult Evaluate(int row, long asOf, bool explain) =>
        _evaluator.Evaluate(StateOf(row, asOf), ReportedId(row), asOf, explain);

    private LeadState StateOf(int row, long asOf)
    {
        LeadState state;
        if (_plan is null)
        {
            state = _states[row]!;
        }
        else
        {
            Load(row, _scratch);
            state = _scratch;
        }

        if (state.LastTicks > asOf)
        {
            throw new ArgumentOutOfRangeException(nameof(asOf), new DateTimeOffset(asOf, TimeSpan.Zero),
                $"Lead '{ReportedId(row)}' has a message at {new DateTimeOffset(state.LastTicks, TimeSpan.Zero):O}, after the as-of time; a LeadScorer keeps no history to rewind. Evaluate at or after the lead's latest message, or use a LeadScoringEngine to score the past.");
        }

        return state;
    }

    private List<(string Id, int Row)> OrderedRows()
    {
        var rows = new List<(string Id, int Row)>(LeadCount);
        for (int i = 0; i < _rowCount; i++)
        {
            if (!_rows[i].Removed)
            {
                rows.Add((ReportedId(i), i));
            }
        }

        rows.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return rows;
    }

    private string ReportedId(int row)
    {
        if (_plan is null)
        {
            var s = _states[row]!;
            return s.UserId ?? s.AnonymousId ?? _rows[row].FirstId!;
        }

        return _hot[row].UserId ?? _rows[row].AnonymousId ?? _rows[row].FirstId!;
    }

    private void ApplyRules(int row, ulong traitBits, FastRuleSet set, ulong messageBits, long t)
    {
        var cells = _cells.AsSpan(row * _cellStride, _cellStride);
        int ringBase = row * _ringStride;
        bool seconds = false;
        int now = 0;
        foreach (var rule in set.Rules)
        {
            if (rule.Masked)
            {
                if ((traitBits & rule.TraitMask) != rule.TraitMask || (messageBits & rule.MessageMask) != rule.MessageMask)
                {
                    continue;
                }
            }
            else if (!rule.When!.Evaluate(traitBits, messageBits))
            {
                continue;
            }

            if (rule.LimitCount > 0)
            {
                if (rule.LimitWindowTicks == 0)
                {
                    if (cells[rule.CountIndex] >= rule.LimitCount)
                    {
                        cells[rule.CountIndex + 1]++;
                        continue;
                    }
                }
                else
                {
                    // The times of the rule's last LimitCount awards. The cell holds how many were written while
                    // fewer than size, then size + the index of the oldest.
                    ref int cell = ref cells[_countStride + rule.Ring];
                    int size = rule.RingSize;
                    int head = cell < size ? cell : cell - size; // the next free place, or the oldest time
                    int at = ringBase + rule.RingOffset + head;
                    if (_ring64 is null && !seconds && !(seconds = TryToSeconds(t, out now)))
                    {
                        Widen();
                    }

                    if (cell >= size && (_ring64 is { } wide ? wide[at] > t - rule.LimitWindowTicks : _ring32[at] > (long)now - rule.LimitWindowSeconds))
                    {
                        cells[rule.CountIndex + 1]++;
                        continue;
                    }

                    if (_ring64 is { } w)
                    {
                        w[at] = t;
                    }
                    else
                    {
                        _ring32[at] = now;
                    }

                    cell = cell < size ? cell + 1 : head + 1 == size ? size : cell + 1;
                }
            }

            cells[rule.CountIndex]++;
        }
    }

    /// <summary>2000-01-01T00:00:00Z: window times are kept as whole seconds from it while they can be.</summary>
    private const long EpochTicks = 630_822_816_000_000_000;

    private static bool TryToSeconds(long ticks, out int seconds)
    {
        long since = ticks - EpochTicks;
        long whole = since / TimeSpan.TicksPerSecond;
        seconds = (int)whole;
        return since % TimeSpan.TicksPerSecond == 0 && whole >= int.MinValue && whole <= int.MaxValue;
    }

    /// <summary>Moves the window times to ticks, for good: a message carried a time that seconds cannot hold.</summary>
    private void Widen()
    {
        var wide = new long[_ring32.Length];
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = EpochTicks + (_ring32[i] * TimeSpan.TicksPerSecond);
        }

        _ring64 = wide;
        _ring32 = [];
    }

    private int RowFor(LeadMessage m)
    {
        int row = m.UserId is { } user ? _ids.Find(user) : -1;
        if (row >= 0 && m.PreviousId is null && (m.AnonymousId is null || string.Equals(m.AnonymousId, AnonymousIdOf(row), StringComparison.Ordinal)))
        {
            return row;
        }

        // Spec 2.2: every id of the message names the same lead; leads known by two of them become one.
        row = Link(-1, m.UserId);
        row = Link(row, m.AnonymousId);
        row = Link(row, m.PreviousId);
        if (row < 0)
        {
            row = NewRow(m.UserId ?? m.AnonymousId!);
        }

        Claim(row, m.UserId);
        Claim(row, m.AnonymousId);
        Claim(row, m.PreviousId);
        return row;
    }

    private string? AnonymousIdOf(int row) => _plan is null ? _states[row]!.AnonymousId : _rows[row].AnonymousId;

    private int Link(int row, string? id)
    {
        if (id is null)
        {
            return row;
        }

        int other = _ids.Find(id);
        return other < 0 || other == row ? row : row < 0 ? other : Merge(row, other);
    }

    private void Claim(int row, string? id)
    {
        if (id is not null && _ids.Find(id) < 0)
        {
            _ids.Set(id, row);
            if (!string.Equals(id, _rows[row].FirstId, StringComparison.Ordinal))
            {
                (_rows[row].OtherIds ??= []).Add(id);
            }
        }
    }

    /// <summary>
    /// Two leads turn out to be one. Without a journal their histories cannot be replayed in order, so their states
    /// are folded together as <see cref="LeadScoringEngine"/> does beyond its reorder horizon (<see cref="LeadStateMerger"/>).
    /// </summary>
    private int Merge(int a, int b)
    {
        Statistics.Merges++;
        int countA = _plan is null ? _states[a]!.MessageCount : _hot[a].MessageCount;
        int countB = _plan is null ? _states[b]!.MessageCount : _hot[b].MessageCount;
        var (survivor, absorbed) = countA >= countB ? (a, b) : (b, a);
        if (_plan is null)
        {
            LeadStateMerger.MergeInto(_states[survivor]!, _states[absorbed]!);
            _states[absorbed] = null;
        }
        else
        {
            Load(survivor, _scratch);
            Load(absorbed, _scratch2);
            LeadStateMerger.MergeInto(_scratch, _scratch2);
            Store(survivor, _scratch, traitsChanged: true);
        }

        ref ColdRow gone = ref _rows[absorbed];
        foreach (var id in (IEnumerable<string>?)gone.OtherIds ?? [])
        {
            _ids.Set(id, survivor);
            (_rows[survivor].OtherIds ??= []).Add(id);
        }

        _ids.Set(gone.FirstId!, survivor);
        (_rows[survivor].OtherIds ??= []).Add(gone.FirstId!);
        gone = new ColdRow { Removed = true, FirstId = gone.FirstId };
        _hot[absorbed] = default;
        _removed++;
        return survivor;
    }

    private int NewRow(string firstId)
    {
        if (_rowCount == _rows.Length)
        {
            int size = _rows.Length * 2;
            Array.Resize(ref _rows, size);
            Array.Resize(ref _hot, size);
            if (_plan is null)
            {
                Array.Resize(ref _states, size);
            }
            else
            {
                Array.Resize(ref _cells, size * _cellStride);
                if (_ring64 is null)
                {
                    Array.Resize(ref _ring32, size * _ringStride);
                }
                else
                {
                    Array.Resize(ref _ring64, size * _ringStride);
                }
            }
        }

        int row = _rowCount++;
        _rows[row] = new ColdRow { FirstId = firstId };
        _hot[row] = new HotRow { LastTicks = long.MinValue, TraitBits = _emptyTraitBits };
        if (_plan is null)
        {
            _states[row] = new LeadState(Model);
        }

        return row;
    }

    /// <summary>Copies a flat row into a full state.</summary>
    private void Load(int row, LeadState s)
    {
        ref HotRow r = ref _hot[row];
        ref ColdRow c = ref _rows[row];
        s.LastTicks = r.LastTicks;
        s.LastMessageId = LastIdOf(ref r);
        s.UserId = r.UserId;
        if (r.UserIdAtLast)
        {
            s.UserIdTicks = r.LastTicks;
            s.UserIdMessageId = s.LastMessageId;
        }
        else
        {
            s.UserIdTicks = c.Extra?.UserIdTicks ?? long.MinValue;
            s.UserIdMessageId = c.Extra?.UserIdMessageId;
        }

        s.AnonymousId = c.AnonymousId;
        s.GroupId = c.Extra?.GroupId;
        s.Stage = 0;
        s.MessageCount = r.MessageCount;
        s.History?.Clear();
        var traits = s.Traits!;
        traits.Clear();
        if (c.Traits is { } pairs)
        {
            foreach (var (k, v) in pairs)
            {
                traits[k] = v;
            }
        }

        var cells = _cells.AsSpan(row * _cellStride, _cellStride);
        cells[.._countStride].CopyTo(s.Counts);
        if (_ring64 is { } wide)
        {
            wide.AsSpan(row * _ringStride, _ringStride).CopyTo(s.Ring);
        }
        else
        {
            var narrow = _ring32.AsSpan(row * _ringStride, _ringStride);
            for (int i = 0; i < narrow.Length; i++)
            {
                s.Ring[i] = EpochTicks + (narrow[i] * TimeSpan.TicksPerSecond);
            }
        }
        for (int w = 0; w < _windowStride; w++)
        {
            // Count while not full, then size + head; LeadState keeps a count whose remainder is the head.
            s.RingWritten[w] = cells[_countStride + w];
        }
    }

    /// <summary>Copies a full state back into a flat row.</summary>
    private void Store(int row, LeadState s, bool traitsChanged)
    {
        ref HotRow r = ref _hot[row];
        ref ColdRow c = ref _rows[row];
        r.LastTicks = s.LastTicks;
        r.LastMessageId = s.LastMessageId;
        r.IdLength = 0;
        r.LastIdKey = s.LastMessageId is null ? 0 : IdKey(s.LastMessageId);
        r.UserId = s.UserId;
        r.UserIdAtLast = s.UserId is not null && s.UserIdTicks == s.LastTicks && string.Equals(s.UserIdMessageId, s.LastMessageId, StringComparison.Ordinal);
        if (!r.UserIdAtLast && (s.UserId is not null || c.Extra is not null))
        {
            var extra = c.Extra ??= new RowExtra();
            extra.UserIdTicks = s.UserIdTicks;
            extra.UserIdMessageId = s.UserIdMessageId;
        }

        c.AnonymousId = s.AnonymousId;
        if (s.GroupId is not null || c.Extra is not null)
        {
            (c.Extra ??= new RowExtra()).GroupId = s.GroupId;
        }

        r.MessageCount = s.MessageCount;
        var cells = _cells.AsSpan(row * _cellStride, _cellStride);
        s.Counts.CopyTo(cells);
        if (_ring64 is null)
        {
            foreach (long ticks in s.Ring)
            {
                if (!TryToSeconds(ticks, out _))
                {
                    Widen();
                    break;
                }
            }
        }

        if (_ring64 is { } wide)
        {
            s.Ring.CopyTo(wide.AsSpan(row * _ringStride, _ringStride));
        }
        else
        {
            var narrow = _ring32.AsSpan(row * _ringStride, _ringStride);
            for (int i = 0; i < narrow.Length; i++)
            {
                TryToSeconds(s.Ring[i], out narrow[i]);
            }
        }
        for (int w = 0; w < _windowStride; w++)
        {
            int size = Model.RingSizes[w], written = s.RingWritten[w];
            cells[_countStride + w] = written < size ? written : size + (written % size);
        }

        if (traitsChanged)
        {
            c.Traits = s.Traits is { Count: > 0 } t ? Compact(t) : null;
            r.TraitBits = TraitBitsOf(c.Traits);
        }
    }

    // ------------------------------------------------------------------ traits

    private KeyValuePair<string, DataValue>[] Compact(Dictionary<string, DataValue> traits)
    {
        var pairs = new KeyValuePair<string, DataValue>[traits.Count];
        int i = 0;
        foreach (var (k, v) in traits)
        {
            pairs[i++] = new(Pool(k), Pool(v));
        }

        return pairs;
    }

    /// <summary>Spec 2.3: an identify's traits merge over the lead's, key by key; a null removes the key.</summary>
    private KeyValuePair<string, DataValue>[]? MergeTraits(KeyValuePair<string, DataValue>[]? current, DataValue traits)
    {
        if (traits.Keys is not { } keys || keys.Length == 0)
        {
            return current;
        }

        var merged = new List<KeyValuePair<string, DataValue>>((current?.Length ?? 0) + keys.Length);
        merged.AddRange(current ?? []);
        var values = traits.Values!;
        for (int i = 0; i < keys.Length; i++)
        {
            SetTrait(merged, keys[i], keys[i], values[i].Kind == DataKind.Null ? null : Pool(values[i]));
        }

        return merged.Count == 0 ? null : [.. merged];
    }

    /// <summary>One key of a trait merge (spec 2.3): a value replaces the key's, null removes the key.</summary>
    /// <param name="merged">The lead's traits being merged.</param>
    /// <param name="key">The key's characters.</param>
    /// <param name="keyText">The key as a string when the caller has one (pooled without copying), else null.</param>
    /// <param name="value">The pooled value, or null to remove the key.</param>
    private void SetTrait(List<KeyValuePair<string, DataValue>> merged, ReadOnlySpan<char> key, string? keyText, DataValue? value)
    {
        int found = -1;
        for (int j = 0; j < merged.Count; j++)
        {
            if (key.SequenceEqual(merged[j].Key))
            {
                found = j;
                break;
            }
        }

        if (value is null)
        {
            if (found >= 0)
            {
                merged.RemoveAt(found);
            }
        }
        else if (found >= 0)
        {
            merged[found] = new(merged[found].Key, value);
        }
        else
        {
            merged.Add(new(keyText is null ? PoolKey(key) : Pool(keyText), value));
        }
    }

    /// <summary>The lead's trait bits: each trait leaf tested on the value at its path (as Evaluator.Resolve reads it).</summary>
    private ulong TraitBitsOf(KeyValuePair<string, DataValue>[]? pairs)
    {
        var leaves = _plan!.TraitLeaves;
        ulong bits = 0;
        for (int i = 0; i < leaves.Length; i++)
        {
            var path = leaves[i].Field;
            DataValue? value = null;
            foreach (var (key, v) in pairs ?? [])
            {
                if (string.Equals(key, path.Segments[0], StringComparison.Ordinal))
                {
                    value = path.Walk(v, 1);
                    break;
                }
            }

            if (leaves[i].Test(FieldValue.Of(value)))
            {
                bits |= 1UL << i;
            }
        }

        return bits;
    }

    private string PoolKey(ReadOnlySpan<char> key)
    {
#if NET9_0_OR_GREATER
        if (_keyPool.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key, out var pooled))
        {
            return pooled;
        }
#endif
        return Pool(key.ToString());
    }

    private DataValue PoolString(ReadOnlySpan<char> text)
    {
#if NET9_0_OR_GREATER
        if (_stringPool.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var pooled))
        {
            return pooled;
        }
#endif
        return Pool(DataValue.FromString(text.ToString()));
    }

    private DataValue PoolNumber(ReadOnlySpan<byte> raw, double number)
    {
        Span<char> text = stackalloc char[raw.Length <= 64 ? raw.Length : 0];
        if (raw.Length <= 64)
        {
            for (int i = 0; i < raw.Length; i++)
            {
                text[i] = (char)raw[i];
            }

#if NET9_0_OR_GREATER
            if (_numberPool.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var pooled))
            {
                return pooled;
            }
#endif
        }

        return Pool(DataValue.FromNumber(number, System.Text.Encoding.ASCII.GetString(raw)));
    }

    /// <summary>One instance per distinct trait name, string and number, so 100,000 leads share their values.</summary>
    private string Pool(string key)
    {
        if (_keyPool.TryGetValue(key, out var pooled))
        {
            return pooled;
        }

        if (_keyPool.Count < MaxPooled)
        {
            _keyPool[key] = key;
        }

        return key;
    }

    private DataValue Pool(DataValue v)
    {
        var pool = v.Kind switch
        {
            DataKind.String => _stringPool,
            DataKind.Number => _numberPool,
            _ => null,
        };
        if (pool is null || v.Text is not { } text)
        {
            return v;
        }

        if (pool.TryGetValue(text, out var pooled))
        {
            return pooled;
        }

        if (pool.Count < MaxPooled)
        {
            pool[text] = v;
        }

        return v;
    }

    /// <summary>
    /// The part of a lead's flat row that every message reads (64 bytes with the packed message id); counters and limit windows live in the
    /// scorer's cell and ring arrays at the row's offset.
    /// </summary>
    private struct HotRow
    {
        public long LastTicks;
        public string? LastMessageId;
        public ulong IdLo;
        public ulong IdHi;
        public string? UserId;
        public ulong TraitBits;
        public int LastIdKey;
        public int MessageCount;
        public bool UserIdAtLast;

        /// <summary>The length of the latest message id held in <see cref="IdLo"/>/<see cref="IdHi"/>; 0 when it is in <see cref="LastMessageId"/>.</summary>
        public byte IdLength;
    }

    /// <summary>The part of a lead's row that only new leads, identifies, links and evaluations read.</summary>
    private struct ColdRow
    {
        public string? FirstId;
        public string? AnonymousId;
        public KeyValuePair<string, DataValue>[]? Traits;
        public RowExtra? Extra;
        public List<string>? OtherIds;
        public bool Removed;
    }

    /// <summary>The rarely used part of a row.</summary>
    private sealed class RowExtra
    {
        public long UserIdTicks = long.MinValue;
        public string? UserIdMessageId;
        public string? GroupId;
    }

    /// <summary>Account traits in arrival order, the latest merged over the earlier (no history: zero horizon).</summary>
    private sealed class LatestAccounts : IAccountDirectory
    {
        private readonly Dictionary<string, Dictionary<string, DataValue>> _accounts = new(StringComparer.Ordinal);

        public void Merge(string groupId, DataValue? traits)
        {
            if (!_accounts.TryGetValue(groupId, out var merged))
            {
                _accounts[groupId] = merged = new Dictionary<string, DataValue>(StringComparer.Ordinal);
            }

            DataValue.MergeTraits(merged, traits);
        }

        public Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId) =>
            _accounts.TryGetValue(groupId, out var traits) ? traits : null;
    }
}
