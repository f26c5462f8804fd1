using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>The engine's lead rows: ids, flat rows or full states, and the in-order step that applies one message to a row.</summary>
public sealed partial class LeadScoringEngine
{
    private readonly FastPlan? _plan;
    private readonly LeadState _scratch;
    private readonly IdTable _ids = new();
    private readonly int _countStride;
    private readonly int _ringStride;
    private readonly int _windowStride;
    private readonly int _cellStride;
    private readonly double[] _raw;
    private readonly double[] _values;

    /// <summary>The trait bits of a lead without traits: conditions such as <c>notExists</c> hold on it.</summary>
    private readonly ulong _emptyTraitBits;
    private readonly string?[] _eventNames = new string?[8];
    private readonly FastRuleSet?[] _eventSets = new FastRuleSet?[8];
    private int _nextEvent;
    private HotRow[] _hot = new HotRow[64];
    private ColdRow[] _rows = new ColdRow[64];
    private LeadState?[] _states = [];

    /// <summary>
    /// Each flat row's counters (awards and suppressed candidates per event rule) and window heads, 16 bits each while
    /// every value fits: one message adds at most 1 to a cell, so a cell that reaches <see cref="ushort.MaxValue"/>
    /// moves every row to <see cref="_cells32"/> before the next message (<see cref="WidenCells"/>).
    /// </summary>
    private ushort[] _cells16 = [];

    /// <summary>The cells as 32 bits, for good, once one reached <see cref="ushort.MaxValue"/>; null before.</summary>
    private int[]? _cells32;

    /// <summary>
    /// Window times as seconds since <see cref="EpochTicks"/>: half the memory of ticks. Row 0 starts at
    /// <see cref="_ringBase"/>, on a cache line (<see cref="RingArray{T}"/>).
    /// </summary>
    private int[] _ring32 = [];

    /// <summary>Window times as ticks, once a time that is not a whole second (or outside 1932–2068) turned up.</summary>
    private long[]? _ring64;

    /// <summary>Where row 0's window times start in <see cref="_ring32"/> or <see cref="_ring64"/>, whichever is in use.</summary>
    private int _ringBase;
    private int _rowCount;
    private int _removed;

    /// <summary>The index of a row's first window time in <see cref="_ring32"/> or <see cref="_ring64"/>.</summary>
    private int RingAt(int row) => _ringBase + (row * _ringStride);

    /// <summary>
    /// An array for <paramref name="rows"/> rows of window times whose row 0 starts on a cache line, at the returned
    /// <paramref name="start"/>: a row of 128 bytes (the canonical workload's 32 times) then spans two lines, not three,
    /// and a window's times usually one. The array is pinned (the pinned object heap), so the garbage collector never
    /// moves it off the line.
    /// </summary>
    private T[] RingArray<T>(int rows, out int start)
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        int slack = MemoryHint.Line / size;
        var array = GC.AllocateArray<T>((rows * _ringStride) + slack, pinned: true);
        start = ((MemoryHint.Line - MemoryHint.BytesToLine(ref MemoryMarshal.GetArrayDataReference(array))) & (MemoryHint.Line - 1)) / size;
        return array;
    }

    /// <summary>Whether row 0's window times start on a cache line (tests): every row then starts where its stride puts it.</summary>
    internal bool RingRowsOnCacheLines => _plan is null || _ringStride == 0 || (_ring64 is { } wide
        ? MemoryHint.BytesToLine(ref wide[_ringBase]) == 0
        : MemoryHint.BytesToLine(ref _ring32[_ringBase]) == 0);

    /// <summary>Whether the window times are kept as ticks (<see cref="_ring64"/>), not seconds (tests).</summary>
    internal bool WindowTimesAsTicks => _ring64 is not null;

    private void InitRows()
    {
        if (_plan is null)
        {
            _states = new LeadState?[_rows.Length];
        }
        else
        {
            _cells16 = new ushort[_rows.Length * _cellStride];
            if (_plan.Rules.All(r => r.LimitWindowTicks % TimeSpan.TicksPerSecond == 0))
            {
                _ring32 = RingArray<int>(_rows.Length, out _ringBase);
            }
            else
            {
                _ring64 = RingArray<long>(_rows.Length, out _ringBase);
            }
        }
    }

    /// <summary>
    /// The hot path's step on a flat row: a track or page message's rules as mask tests and counters, or an identify's
    /// traits. The caller checked that the message is the lead's next in order, under its current user id.
    /// </summary>
    private void ApplyFlat(int row, FastRuleSet? set, ulong messageBits, LeadMessage message)
    {
        ref HotRow r = ref _hot[row];
        long t = message.TimestampTicks;
        if (set is not null)
        {
            ApplyRules(row, r.TraitBits, set, messageBits, t);
        }
        else if (message.Type == MessageType.Identify && message.Traits is not null)
        {
            ref ColdRow cold = ref _rows[row];
            var before = _knownTraits;
            var merged = MergeTraits(cold.Traits, message.Traits, like: before?.Traits);
            if (before is { } b && ReferenceEquals(merged, b.Traits))
            {
                // A replay or a fold arriving at known traits (usually the lead's identify, stepped again): their bits are known.
                (cold.Traits, r.TraitBits) = b;
            }
            else
            {
                cold.Traits = merged;
                r.TraitBits = TraitBitsOf(merged);
            }
        }

        r.LastTicks = t;
        SetLastId(row, ref r, message.MessageId);
        r.MessageCount++;
        r.UserIdAtLast = true;
    }

    /// <summary>
    /// The in-order step: applies the lead's next message in spec 2.3 order. Every message reaches a lead's state
    /// through here (live, or replayed from the history); flat rows take the mask path where the message allows it.
    /// <paramref name="bits"/> are the message's field bits (<see cref="FieldBitsOf"/>), worked out by the caller or
    /// kept in the history index.
    /// </summary>
    private void ApplyInOrder(int row, LeadMessage m, ulong bits)
    {
        if (_plan is not { } plan)
        {
            _evaluator.Apply(_states[row]!, m);
            return;
        }

        ref HotRow r = ref _hot[row];
        if (m.AnonymousId is null && m.PreviousId is null && m.UserId is { } user && m.TimestampTicks > r.LastTicks
            && m.Type is (MessageType.Page or MessageType.Track or MessageType.Identify)
            && (string.Equals(user, r.UserId, StringComparison.Ordinal) || IsBlank(row, ref r)))
        {
            // A blank row (a new lead, or one being replayed from its first message) takes the message's user id, as
            // the general step would (spec 2.3: the latest user id; here the row's only one, from its latest message).
            r.UserId ??= user;
            ApplyFlat(row, RuleSetOf(plan, m), bits, m);
            return;
        }

        // On flat rows: the general evaluator on a full state loaded from the row and stored back.
        Load(row, _scratch);
        _evaluator.Apply(_scratch, m);
        Store(row, _scratch, m.Traits is not null);
    }

    /// <summary>
    /// Whether a flat row holds no state at all: no message applied, no base state, no user or anonymous id, no traits
    /// (a row just made, or just emptied for a replay). Its first message by a user id alone can then take the flat step.
    /// </summary>
    private bool IsBlank(int row, ref HotRow r)
    {
        if (r.UserId is not null || r.MessageCount != 0)
        {
            return false;
        }

        ref ColdRow c = ref _rows[row];
        return c.AnonymousId is null && c.Traits is null && c.Folded is null && c.Extra is not { GroupId: not null };
    }

    /// <summary>Empties a row's state (its ids and history stay), before a replay.</summary>
    private void ResetRow(int row)
    {
        if (_plan is null)
        {
            _states[row]!.Reset();
            return;
        }

        ref HotRow r = ref _hot[row];
        (r.LastTicks, r.UserId, r.TraitBits, r.MessageCount, r.UserIdAtLast) = (long.MinValue, null, _emptyTraitBits, 0, false);
        SetLastId(row, ref r, null);
        ref ColdRow c = ref _rows[row];
        (c.AnonymousId, c.Traits) = (null, null);
        if (c.Extra is { } extra)
        {
            // The state's rare parts go; the row's own (other ids, base state, the id handed out) stay.
            (extra.UserIdTicks, extra.UserIdMessageId, extra.GroupId) = (long.MinValue, null, null);
        }

        if (_cells32 is { } wideCells)
        {
            wideCells.AsSpan(row * _cellStride, _cellStride).Clear();
        }
        else
        {
            _cells16.AsSpan(row * _cellStride, _cellStride).Clear();
        }
        if (_ring64 is { } wide)
        {
            wide.AsSpan(RingAt(row), _ringStride).Clear();
        }
        else
        {
            _ring32.AsSpan(RingAt(row), _ringStride).Clear();
        }
    }

    /// <summary>The lead's current state: the row's own, or the row loaded into a scratch state.</summary>
    private LeadState CurrentState(int row)
    {
        if (_plan is null)
        {
            return _states[row]!;
        }

        Load(row, _scratch);
        return _scratch;
    }

    /// <summary>Sets a row's state (a lead restored from a store).</summary>
    private void SetState(int row, LeadState state)
    {
        if (_plan is null)
        {
            _states[row] = state;
        }
        else
        {
            state.Traits ??= new Dictionary<string, DataValue>(StringComparer.Ordinal);
            Store(row, state, traitsChanged: true);
        }
    }

    /// <summary>Whether (<paramref name="ticks"/>, <paramref name="messageId"/>) is after the row's latest message (spec 2.3).</summary>
    private bool IsAfterLast(int row, long ticks, string messageId)
    {
        if (_plan is null)
        {
            return _states[row]!.IsAfterLast(ticks, messageId);
        }

        ref HotRow r = ref _hot[row];
        return ticks != r.LastTicks ? ticks > r.LastTicks : string.CompareOrdinal(messageId, LastIdOf(row)) > 0;
    }

    /// <summary>Notes a message's order key as the lead's latest without applying it (the lead awaits a replay).</summary>
    private void SetLastKey(int row, LeadMessage m)
    {
        if (_plan is null)
        {
            (_states[row]!.LastTicks, _states[row]!.LastMessageId) = (m.TimestampTicks, m.MessageId);
        }
        else
        {
            ref HotRow r = ref _hot[row];
            r.LastTicks = m.TimestampTicks;
            SetLastId(row, ref r, m.MessageId);
        }
    }

    private int MessageCountOf(int row) => _plan is null ? _states[row]!.MessageCount : _hot[row].MessageCount;

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

    /// <summary>
    /// A message's field bits under the model's flat plan: of the page rules for a page message, of its event's rules for
    /// a track message, 0 otherwise (and without a flat plan). They depend only on the message and the model, so the
    /// history index keeps them and replays do not work them out again.
    /// </summary>
    private ulong FieldBitsOf(LeadMessage m) => _plan is { } plan && RuleSetOf(plan, m) is { } set ? MessageBits(set, m) : 0;

    /// <summary>The flat plan's rules for a message: the page rules for a page message, its event's for a track message (null for an event no rule names), else null.</summary>
    private FastRuleSet? RuleSetOf(FastPlan plan, LeadMessage m) => m.Type switch
    {
        MessageType.Page => plan.Page,
        MessageType.Track => EventSet(plan, m.Event!),
        _ => null,
    };

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
    /// A score straight from a flat row, when every trait rule is a test on the lead's trait bits: the evaluator's
    /// arithmetic (spec 3.5, one running sum per score in rule order, then bounds, then weighted sums) on bits and
    /// counters, without loading a full state. Flat models have no decay or expiry, so scores do not depend on the
    /// instant beyond it not being before the lead's latest message.
    /// </summary>
    private double ScoreOfRow(int row, TraitRuleBits?[] traitRules, int scoreIndex)
    {
        ScoresOfRow(row, traitRules);
        return _values[scoreIndex];
    }

    /// <summary>Every score of a flat row into <see cref="_values"/> (see <see cref="ScoreOfRow"/>).</summary>
    private void ScoresOfRow(int row, TraitRuleBits?[] traitRules)
    {
        ref HotRow r = ref _hot[row];

        var raw = _raw;
        var values = _values;
        Array.Clear(raw);
        int counts = row * _cellStride;
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

            raw[rule.ScoreIndex] += rule.ClampShare(Evaluator.Finite(Evaluator.PlainShare(rule, Cell(counts + (2 * rule.EventIndex)))));
        }

        Evaluator.FinishScores(Model, raw, values);
    }

    // ------------------------------------------------------------------ rows

    private List<(string Id, int Row)> OrderedRows()
    {
        var rows = new List<(string Id, int Row)>(LeadCount);
        for (int i = 0; i < _rowCount; i++)
        {
            if (!_rows[i].Removed)
            {
                Replay(i);
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

    /// <summary>The id the lead was last handed out under (<see cref="TakeChanges"/>, an import), or null.</summary>
    private string? PersistedIdOf(int row) => _hot[row].PersistedAsFirst ? _rows[row].FirstId : _rows[row].Extra?.PersistedId;

    /// <summary>Notes the id a lead is handed out under: a flag when it is the first id (most leads), else in its <see cref="RowExtra"/>.</summary>
    private void SetPersistedId(int row, string id)
    {
        ref ColdRow c = ref _rows[row];
        bool first = string.Equals(id, c.FirstId, StringComparison.Ordinal);
        _hot[row].PersistedAsFirst = first;
        if (!first)
        {
            (c.Extra ??= new RowExtra()).PersistedId = id;
        }
        else if (c.Extra is { } extra)
        {
            extra.PersistedId = null;
        }
    }

    private IEnumerable<string> IdsOf(int row) => [_rows[row].FirstId!, .. (IEnumerable<string>?)_rows[row].OtherIds ?? []];

    /// <summary>A flat row's cell at <paramref name="at"/> (row × stride + place).</summary>
    private int Cell(int at) => _cells32 is { } wide ? wide[at] : _cells16[at];

    /// <summary>Sets a flat row's cell; the caller widened the cells first when the value does not fit 16 bits.</summary>
    private void SetCell(int at, int value)
    {
        if (_cells32 is { } wide)
        {
            wide[at] = value;
        }
        else
        {
            _cells16[at] = checked((ushort)value);
        }
    }

    private void ApplyRules(int row, ulong traitBits, FastRuleSet set, ulong messageBits, long t)
    {
        if (_cells32 is { } wide)
        {
            ApplyRules(wide.AsSpan(row * _cellStride, _cellStride), row, traitBits, set, messageBits, t);
        }
        else if (ApplyRules(_cells16.AsSpan(row * _cellStride, _cellStride), row, traitBits, set, messageBits, t))
        {
            WidenCells();
        }
    }

    /// <summary>Moves every row's cells to 32 bits, for good: a counter reached <see cref="ushort.MaxValue"/>.</summary>
    private void WidenCells()
    {
        var wide = new int[_cells16.Length];
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = _cells16[i];
        }

        _cells32 = wide;
        _cells16 = [];
    }

    /// <summary>
    /// <see cref="ApplyRules(int, ulong, FastRuleSet, ulong, long)"/> on the row's cells as 16 or 32 bits; true when a
    /// 16-bit cell reached its maximum (the caller widens before the next message).
    /// </summary>
    private bool ApplyRules<TCell>(Span<TCell> cells, int row, ulong traitBits, FastRuleSet set, ulong messageBits, long t)
        where TCell : unmanaged, IBinaryInteger<TCell>
    {
        bool full = false;
        int ringBase = RingAt(row);
        bool seconds = false;
        int now = 0;
        // Which rules hold: where every condition is a conjunction of bits, all at once (a bit per rule, no branch per
        // rule: which rules a page view meets depends on its url, a branch the processor cannot predict).
        var rules = set.Rules;
        bool allMasked = set.AllMasked;
        ulong holding = allMasked ? set.Holding(traitBits, messageBits) : 0;
        for (int k = 0; k < rules.Length; k++)
        {
            if (allMasked)
            {
                if (holding == 0)
                {
                    break;
                }

                k = BitOperations.TrailingZeroCount(holding);
                holding &= holding - 1;
            }
            else if (!rules[k].Holds(traitBits, messageBits))
            {
                continue;
            }

            var rule = rules[k];
            if (rule.LimitCount > 0)
            {
                if (rule.LimitWindowTicks == 0)
                {
                    if (LimitRule.LifetimeReached(int.CreateTruncating(cells[rule.CountIndex]), rule.LimitCount))
                    {
                        full |= Increment(ref cells[rule.CountIndex + 1]);
                        continue;
                    }
                }
                else
                {
                    // The times of the rule's last LimitCount awards. The cell holds how many were written while
                    // fewer than size, then size + the index of the oldest.
                    ref TCell place = ref cells[_countStride + rule.Ring];
                    int cell = int.CreateTruncating(place);
                    int size = rule.RingSize;
                    int head = cell < size ? cell : cell - size; // the next free place, or the oldest time
                    if (_ring64 is null && !seconds && !(seconds = TryToSeconds(t, out now)))
                    {
                        // The times move to another array, whose rows start elsewhere.
                        Widen();
                        ringBase = RingAt(row);
                    }

                    int at = ringBase + rule.RingOffset + head;
                    if (_ring64 is { } wide
                        ? LimitRule.WindowReached(cell >= size, wide[at], t, rule.LimitWindowTicks)
                        : LimitRule.WindowReached(cell >= size, _ring32[at], now, rule.LimitWindowSeconds))
                    {
                        full |= Increment(ref cells[rule.CountIndex + 1]);
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

                    place = TCell.CreateTruncating(cell < size ? cell + 1 : head + 1 == size ? size : cell + 1);
                }
            }

            full |= Increment(ref cells[rule.CountIndex]);
        }

        return full;

        // Adds one; true when a 16-bit cell is now at its maximum (a 32-bit one is not widened further).
        static bool Increment(ref TCell cell) => ++cell == TCell.CreateTruncating(ushort.MaxValue) && typeof(TCell) == typeof(ushort);
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
        var wide = RingArray<long>(_rows.Length, out int start);
        var narrow = _ring32.AsSpan(_ringBase, _rows.Length * _ringStride);
        for (int i = 0; i < narrow.Length; i++)
        {
            wide[start + i] = EpochTicks + (narrow[i] * TimeSpan.TicksPerSecond);
        }

        (_ring64, _ringBase) = (wide, start);
        _ring32 = [];
    }

    private int RowFor(LeadMessage m)
    {
        int row = m.UserId is { } user ? _ids.Find(user, m.UserIdHash) : -1;
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
            if (!string.Equals(id, _rows[row].FirstId, StringComparison.Ordinal) && !(_rows[row].OtherIds?.Contains(id) ?? false))
            {
                (_rows[row].OtherIds ??= []).Add(id);
            }
        }
    }

    /// <summary>Points every id of <paramref name="from"/> at <paramref name="to"/>.</summary>
    private void MoveIds(int from, int to)
    {
        ref ColdRow gone = ref _rows[from];
        foreach (var id in (IEnumerable<string>?)gone.OtherIds ?? [])
        {
            _ids.Set(id, to);
            (_rows[to].OtherIds ??= []).Add(id);
        }

        _ids.Set(gone.FirstId!, to);
        (_rows[to].OtherIds ??= []).Add(gone.FirstId!);
        gone.OtherIds = null;
    }

    /// <summary>Removes a lead: its ids no longer name a lead, it leaves its accounts. Its history entries stay, unreachable.</summary>
    private void RemoveRow(int row)
    {
        foreach (var id in IdsOf(row))
        {
            if (_ids.Find(id) == row)
            {
                _ids.Set(id, -1);
            }
        }

        _accounts.Leave(row);
        ref ColdRow c = ref _rows[row];
        c = new ColdRow { Removed = true, FirstId = c.FirstId };
        _hot[row] = new HotRow { History = -1, Changed = _hot[row].Changed };
        if (_lastIdRow == row)
        {
            _lastIdRow = -1;
        }

        if (_plan is null)
        {
            _states[row] = null;
        }

        _removed++;
    }

    private int NewRow(string firstId)
    {
        if (_rowCount == _rows.Length)
        {
            // Grown by a quarter, not doubled: about 12% of rows unused on average rather than about 40%, for
            // copying each row about four times over the engine's life instead of once.
            int size = _rows.Length + Math.Max(64, _rows.Length / 4);
            Array.Resize(ref _rows, size);
            Array.Resize(ref _hot, size);
            if (_plan is null)
            {
                Array.Resize(ref _states, size);
            }
            else
            {
                if (_cells32 is null)
                {
                    Array.Resize(ref _cells16, size * _cellStride);
                }
                else
                {
                    Array.Resize(ref _cells32, size * _cellStride);
                }

                int used = _rowCount * _ringStride;
                if (_ring64 is null)
                {
                    var ring = RingArray<int>(size, out int start);
                    _ring32.AsSpan(_ringBase, used).CopyTo(ring.AsSpan(start));
                    (_ring32, _ringBase) = (ring, start);
                }
                else
                {
                    var ring = RingArray<long>(size, out int start);
                    _ring64.AsSpan(_ringBase, used).CopyTo(ring.AsSpan(start));
                    (_ring64, _ringBase) = (ring, start);
                }
            }
        }

        int row = _rowCount++;
        _rows[row] = new ColdRow { FirstId = firstId };
        _hot[row] = new HotRow { LastTicks = long.MinValue, TraitBits = _emptyTraitBits, History = -1, FoldAt = MinFold };
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
        s.LastMessageId = LastIdOf(row);
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
        s.FirstTicks = long.MaxValue; // flat rows have no stage clock
        s.History?.Clear();
        LoadTraits(c.Traits, s.Traits!);

        int cells = row * _cellStride;
        for (int i = 0; i < _countStride; i++)
        {
            s.Counts[i] = Cell(cells + i);
        }

        for (int w = 0; w < _windowStride; w++)
        {
            // Count while not full, then size + head; LeadState keeps a count whose remainder is the head.
            int size = Model.RingSizes[w], written = s.RingWritten[w] = Cell(cells + _countStride + w);
            var places = WindowRing.Room(ref s.Rings[w], size, WindowRing.Held(size, written));
            int at = RingAt(row) + Model.RingOffsets[w];
            if (_ring64 is { } wide)
            {
                wide.AsSpan(at, places.Length).CopyTo(places);
            }
            else
            {
                var narrow = _ring32.AsSpan(at, places.Length);
                for (int i = 0; i < narrow.Length; i++)
                {
                    places[i] = EpochTicks + (narrow[i] * TimeSpan.TicksPerSecond);
                }
            }
        }
    }

    /// <summary>Copies a full state back into a flat row.</summary>
    private void Store(int row, LeadState s, bool traitsChanged)
    {
        ref HotRow r = ref _hot[row];
        ref ColdRow c = ref _rows[row];
        r.LastTicks = s.LastTicks;
        SetLastId(row, ref r, s.LastMessageId);
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
        int cells = row * _cellStride;
        if (_cells32 is null && s.Counts.AsSpan(0, _countStride).ContainsAnyInRange(ushort.MaxValue, int.MaxValue))
        {
            WidenCells();
        }

        for (int i = 0; i < _countStride; i++)
        {
            SetCell(cells + i, s.Counts[i]);
        }

        for (int w = 0; w < _windowStride; w++)
        {
            int size = Model.RingSizes[w], written = s.RingWritten[w];
            SetCell(cells + _countStride + w, written < size ? written : size + (written % size));
            var places = s.Rings[w].AsSpan(0, WindowRing.Held(size, written));
            if (_ring64 is null)
            {
                foreach (long ticks in places)
                {
                    if (!TryToSeconds(ticks, out _))
                    {
                        Widen();
                        break;
                    }
                }
            }

            int at = RingAt(row) + Model.RingOffsets[w];
            if (_ring64 is { } wide)
            {
                places.CopyTo(wide.AsSpan(at, places.Length));
            }
            else
            {
                var narrow = _ring32.AsSpan(at, places.Length);
                for (int i = 0; i < narrow.Length; i++)
                {
                    TryToSeconds(places[i], out narrow[i]);
                }
            }
        }

        if (traitsChanged)
        {
            c.Traits = s.Traits is { Count: > 0 } t ? Compact(t) : null;
            r.TraitBits = TraitBitsOf(c.Traits);
        }
    }

    /// <summary>
    /// The part of a lead's flat row that every message reads; counters and limit windows live in the engine's cell
    /// and ring arrays at the row's offset. <see cref="History"/> and <see cref="Dirty"/> are used in both row kinds.
    /// 48 B: four 8-byte fields, three counts, the fold threshold as a power of two and seven flags in a byte each.
    /// </summary>
    private struct HotRow
    {
        private const byte UserIdAtLastBit = 1, DirtyBit = 2, ChangedBit = 4, FoldQueuedBit = 8, PersistedAsFirstBit = 16, LastPinnedBit = 32, UnsortedBit = 64;

        /// <summary>
        /// The timestamp of the lead's latest message (spec 2.3 order). Its id is not kept here: see
        /// <see cref="LastIdOf"/>.
        /// </summary>
        public long LastTicks;
        public string? UserId;
        public ulong TraitBits;

        /// <summary>
        /// Two bits per message id ever counted for the lead (a Bloom filter): an id whose bits are not all set is
        /// no copy, and the de-duplication table is not probed.
        /// </summary>
        public ulong IdBloom;

        /// <summary>The index entry of the lead's newest counted message, or -1.</summary>
        public int History;

        /// <summary>How many live messages the lead's history list holds.</summary>
        public int Kept;
        public int MessageCount;

        private byte _foldShift;
        private byte _flags;

        /// <summary>
        /// The count of kept messages past which the next fold runs: set to at least twice the count kept after a
        /// fold, held as <c>MinFold</c> times a power of two (one byte).
        /// </summary>
        public int FoldAt
        {
            readonly get => MinFold << _foldShift;
            set
            {
                byte shift = 0;
                while (shift < 27 && (MinFold << shift) < value)
                {
                    shift++;
                }

                _foldShift = shift;
            }
        }

        /// <summary>Whether the lead's user id was set by its latest message.</summary>
        public bool UserIdAtLast { readonly get => Has(UserIdAtLastBit); set => Set(UserIdAtLastBit, value); }

        /// <summary>Whether the state is stale: the history changed in the past, and the lead awaits a replay.</summary>
        public bool Dirty { readonly get => Has(DirtyBit); set => Set(DirtyBit, value); }

        /// <summary>Whether the lead's fold fell due in the batch being applied and waits in the batch's list of folds (<see cref="RunWaitingFolds"/>).</summary>
        public bool FoldQueued { readonly get => Has(FoldQueuedBit); set => Set(FoldQueuedBit, value); }

        /// <summary>Whether the lead is in the list of leads changed since <see cref="TakeChanges"/>.</summary>
        public bool Changed { readonly get => Has(ChangedBit); set => Set(ChangedBit, value); }

        /// <summary>Whether the lead was last handed out (<see cref="TakeChanges"/>, an import) under its first id.</summary>
        public bool PersistedAsFirst { readonly get => Has(PersistedAsFirstBit); set => Set(PersistedAsFirstBit, value); }

        /// <summary>
        /// Whether the id of the lead's latest message is pinned in <see cref="RowExtra.LastMessageId"/>, because its
        /// history does not tell it now (between a change of the lead's past and its replay, or after an import whose
        /// journal does not hold the latest message).
        /// </summary>
        public bool LastPinned { readonly get => Has(LastPinnedBit); set => Set(LastPinnedBit, value); }

        /// <summary>
        /// Whether the lead's history list may not be newest first by timestamp (a message older than the list's head
        /// was added, or two leads' lists were joined); while it is not set, the messages at the lead's latest timestamp
        /// are the first ones of the list (<see cref="FindLastId"/> stops at the first older one). A fold sorts it again.
        /// </summary>
        public bool Unsorted { readonly get => Has(UnsortedBit); set => Set(UnsortedBit, value); }

        private readonly bool Has(byte bit) => (_flags & bit) != 0;

        private void Set(byte bit, bool value) => _flags = (byte)(value ? _flags | bit : _flags & ~bit);
    }

    /// <summary>
    /// The part of a lead's row that only new leads, identifies, links, evaluations and stores read: four references
    /// (32 B). What few leads have (more ids, a base state, removal) lives in <see cref="RowExtra"/>, made on first use.
    /// </summary>
    private struct ColdRow
    {
        public string? FirstId;
        public string? AnonymousId;
        /// <summary>The lead's traits as a trait row (key layout, then values: LeadScoringEngine.Traits.cs), or null when it has none.</summary>
        public object[]? Traits;
        public RowExtra? Extra;

        /// <summary>The lead's ids other than <see cref="FirstId"/> (links, merges), or null.</summary>
        public List<string>? OtherIds
        {
            readonly get => Extra?.OtherIds;
            set => Put(value, static (e, v) => e.OtherIds = v);
        }

        /// <summary>Whether the lead was merged into another (its row is no longer used).</summary>
        public bool Removed
        {
            readonly get => Extra is { Removed: true };
            set => Put(value ? (object)true : null, static (e, v) => e.Removed = v is not null);
        }

        /// <summary>The lead's messages older than the reorder horizon, folded into a base state; null while none are.</summary>
        public FoldedHistory? Folded
        {
            readonly get => Extra?.Folded;
            set => Put(value, static (e, v) => e.Folded = v);
        }

        /// <summary>Sets a rarely used field: makes <see cref="Extra"/> for a value, never for a default.</summary>
        private void Put<T>(T? value, Action<RowExtra, T?> set)
            where T : class
        {
            if (value is not null)
            {
                set(Extra ??= new RowExtra(), value);
            }
            else if (Extra is { } e)
            {
                set(e, null);
            }
        }
    }

    /// <summary>The rarely used part of a row.</summary>
    private sealed class RowExtra
    {
        public long UserIdTicks = long.MinValue;
        public string? UserIdMessageId;
        public string? GroupId;
        public List<string>? OtherIds;
        public FoldedHistory? Folded;
        public bool Removed;

        /// <summary>The id the lead was last handed out under, when it is not its first id (<see cref="HotRow.PersistedAsFirst"/>).</summary>
        public string? PersistedId;

        /// <summary>The id of the lead's latest message while <see cref="HotRow.LastPinned"/>.</summary>
        public string? LastMessageId;
    }
}
