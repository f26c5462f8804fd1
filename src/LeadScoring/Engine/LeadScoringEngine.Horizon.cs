using System.Runtime.CompilerServices;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The reorder horizon (<see cref="LeadScoringEngineOptions.ReorderHorizon"/>): a lead's messages older than the horizon,
/// counted back from its newest, are folded into a base state and released from the history, so the history holds
/// about a horizon of messages per lead. Folding runs when a lead's kept messages have at least doubled since the last
/// fold (the threshold is 8 times a power of two, so the row keeps it in a byte): each message is folded once, at a
/// constant cost per message on average. On flat rows the base state is a row of its own, which the in-order step
/// advances (<see cref="FoldedOf"/>); a lead kept as a full state keeps its base encoded.
/// </summary>
public sealed partial class LeadScoringEngine
{
    private readonly List<(LeadMessage Message, int Entry)> _fold = [];

    /// <summary>The leads whose fold fell due in the batch being applied, in the order they did (<see cref="FoldOrQueue"/>).</summary>
    private readonly List<int> _foldsInBatch = [];

    /// <summary>
    /// After a message is kept: folds the lead's older messages when enough have piled up (<see cref="FoldIfDue"/>); in
    /// the batch apply the fold waits in a list instead, and runs when the batch ends, the lists of up to
    /// <see cref="WalkWidth"/> leads walked side by side first so that their cache misses overlap (one lead's walk is a
    /// chain of misses, one per entry). It runs earlier when the lead's next message comes, or when a message goes the
    /// general way (a merge, an account, a late or copied message), so every fold sees the lead, its list and the
    /// accounts as it would have one message at a time: the results are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FoldOrQueue(int row)
    {
        if (FoldDue(row))
        {
            FoldOrQueueDue(row);
        }
    }

    /// <summary>Whether the lead's kept messages have piled up past its fold threshold (never without a horizon).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FoldDue(int row) => _horizon != long.MaxValue && _hot[row].Kept > _hot[row].FoldAt;

    /// <summary><see cref="FoldOrQueue"/> once the lead's fold is due.</summary>
    private void FoldOrQueueDue(int row)
    {
        ref HotRow r = ref _hot[row];
        if (!_inBatch || !FoldsWaitForBatchEnd)
        {
            Fold(row);
        }
        else if (!r.FoldQueued)
        {
            r.FoldQueued = true;
            _foldsInBatch.Add(row);
        }
    }

    /// <summary>Whether the batch apply leaves folds that fall due to its end (<see cref="FoldOrQueue"/>); false runs each at once (tests).</summary>
    internal bool FoldsWaitForBatchEnd { get; set; } = true;

    /// <summary>Runs a lead's fold that waits in the batch's list now (its entry there is then skipped).</summary>
    private void FoldNow(int row)
    {
        _hot[row].FoldQueued = false;
        FoldIfDue(row);
    }

    /// <summary>
    /// Runs the folds waiting in the batch's list, in the order they fell due: the lists of up to <see cref="WalkWidth"/>
    /// leads walked side by side first (<see cref="WalkSideBySide"/>: the messages older than each lead's horizon fetched
    /// on the way), then their base rows fetched, so that each fold finds its entries, messages and base row in the cache.
    /// </summary>
    private void RunWaitingFolds()
    {
        var rows = _foldsInBatch;
        Span<int> cursors = stackalloc int[WalkWidth];
        for (int start = 0; start < rows.Count; start += WalkWidth)
        {
            int n = Math.Min(WalkWidth, rows.Count - start);
            for (int k = 0; k < n; k++)
            {
                int row = rows[start + k];
                cursors[k] = _hot[row].FoldQueued ? _hot[row].History : -1;
                MemoryHint.Prefetch(ref _rows[row]);
            }

            WalkSideBySide(cursors[..n], olderThanHorizon: true);
            for (int k = 0; k < n; k++)
            {
                if (_rows[rows[start + k]].Folded is { BaseRow: >= 0 and int baseRow })
                {
                    HintRow(baseRow);
                }
            }

            for (int k = 0; k < n; k++)
            {
                int row = rows[start + k];
                if (_hot[row].FoldQueued)
                {
                    FoldNow(row);
                }
            }
        }

        rows.Clear();
    }

    /// <summary>Folds the lead's messages older than the horizon into its base state when enough have piled up.</summary>
    private void FoldIfDue(int row)
    {
        if (FoldDue(row))
        {
            Fold(row);
        }
    }

    private void Fold(int row)
    {
        ref HotRow r = ref _hot[row];

        // The lead's live entries, newest first; their order keys are in the index, so no message is read yet.
        _fold.Clear();
        long newest = long.MinValue, previous = long.MaxValue;
        bool falling = true;
        for (int e = r.History; e >= 0; e = _index[e].Prev)
        {
            ref var entry = ref _index[e];
            if (entry.Live)
            {
                _fold.Add((null!, e));
                newest = Math.Max(newest, entry.Ticks);
                falling &= entry.Ticks < previous;
                previous = entry.Ticks;
            }
        }

        long cut = newest - _horizon;
        int n = 0;
        if (falling)
        {
            // Strictly falling in time (in-order traffic): reversed, the list is in spec 2.3 order, and only the
            // messages to fold are read, fetched all at once so that their cache misses overlap.
            _fold.Reverse();
            while (n < _fold.Count && _index[_fold[n].Entry].Ticks < cut)
            {
                n++;
            }

            if (_memoryHistory is not null)
            {
                for (int i = 0; i < n; i++)
                {
                    var m = _history.Get(_index[_fold[i].Entry].Handle);
                    MemoryHint.Prefetch(m);
                    MemoryHint.Prefetch(m, MemoryHint.Line);
                }
            }

            for (int i = 0; i < n; i++)
            {
                _fold[i] = (Read(_fold[i].Entry), _fold[i].Entry);
            }
        }
        else
        {
            // Equal times, or a message kept out of its place: every message is read and sorted (spec 2.3).
            for (int i = 0; i < _fold.Count; i++)
            {
                _fold[i] = (Read(_fold[i].Entry), _fold[i].Entry);
            }

            _fold.Sort(static (a, b) => LeadMessage.CompareTotal(a.Message, b.Message));
            while (n < _fold.Count && _fold[n].Message.TimestampTicks < cut)
            {
                n++;
            }
        }

        if (n > 0)
        {
            // Folded messages leave the list: their ids stay findable in the table only.
            var f = FoldedOf(row);
            ApplyToBase(row, f, n);
            for (int i = 0; i < n; i++)
            {
                Release(_fold[i].Entry);
            }

            f.Count += n;

            // The list keeps only the messages still held (newest first, as it grows). The row is found again: making
            // the base row may have moved the rows.
            r = ref _hot[row];
            int head = -1;
            for (int i = n; i < _fold.Count; i++)
            {
                int e = _fold[i].Entry;
                _index[e].Prev = head;
                head = e;
            }

            r.History = head;
            r.Kept = _fold.Count - n;
            r.Unsorted = false;   // rebuilt in spec 2.3 order, newest first
        }

        r.FoldAt = Math.Max(MinFold, r.Kept * 2);
        _fold.Clear();
    }

    /// <summary>How many leads have folded messages into a base state, and how many of those keep it as a base row (tests).</summary>
    internal (int Leads, int BaseRows) FoldedLeads
    {
        get
        {
            int leads = 0, baseRows = 0;
            for (int row = 0; row < _rowCount; row++)
            {
                if (!_rows[row].Removed && _rows[row].Folded is { } f)
                {
                    leads++;
                    baseRows += f.BaseRow >= 0 ? 1 : 0;
                }
            }

            return (leads, baseRows);
        }
    }

    private const int MinFold = 8;

    /// <summary>
    /// The lead's folded history, made (empty) if it has none yet. On flat rows its base state is a row of its own, which
    /// no id names and which counts as removed (no lead is reported for it): folding applies messages to it with the
    /// in-order step, as a replay would, and a replay starts from a copy of it. A fold thus neither decodes nor encodes
    /// a state, nor allocates once the lead has a base row. Without flat rows the base state is kept encoded.
    /// </summary>
    private FoldedHistory FoldedOf(int row)
    {
        if (_rows[row].Folded is { } folded)
        {
            return folded;
        }

        // Without flat rows the base starts as no encoded state: an empty one (BaseState).
        var f = new FoldedHistory { Ticks = long.MinValue, BaseRow = _plan is null ? -1 : NewBaseRow() };

        _rows[row].Folded = f;
        return f;
    }

    /// <summary>A row for a base state: blank, named by no id, counted as removed, its latest id always pinned (it has no list to tell it).</summary>
    private int NewBaseRow()
    {
        int row = NewRow(null!);
        _rows[row].Removed = true;
        _removed++;
        Pin(row, null);
        return row;
    }

    /// <summary>
    /// Applies the first <paramref name="count"/> messages of <see cref="_fold"/> to the base state of the lead in
    /// <paramref name="row"/>, in that order:
    /// each in its place when it is later than the base's latest message (a fold), else as it comes (a message beyond the
    /// horizon). An entry of -1: a message not kept, whose field bits are worked out here.
    /// </summary>
    private void ApplyToBase(int row, FoldedHistory f, int count)
    {
        if (f.BaseRow >= 0)
        {
            // An identify folded usually brings the base to the traits the lead has now (its first fold takes in the
            // lead's identify): the base row then takes the lead's trait row and bits (trait rows are never changed in
            // place), as a replay does (SameTraits), rather than making a row and testing every trait leaf again.
            var saved = NoteTraitsOf(row);
            try
            {
                for (int i = 0; i < count; i++)
                {
                    var (m, entry) = _fold[i];
                    ApplyInOrder(f.BaseRow, m, entry >= 0 ? _index[entry].Bits : FieldBitsOf(m));
                }
            }
            finally
            {
                _knownTraits = saved;
            }

            (f.Ticks, f.MessageId) = (_hot[f.BaseRow].LastTicks, LastIdOf(f.BaseRow)!);
            return;
        }

        var state = BaseState(f);
        for (int i = 0; i < count; i++)
        {
            _evaluator.Apply(state, _fold[i].Message);
        }

        (f.State, f.Ticks, f.MessageId) = (LeadStateCodec.Encode(state, Model), state.LastTicks, state.LastMessageId!);
    }

    /// <summary>The lead's base state, as a new full state.</summary>
    private LeadState BaseState(FoldedHistory f)
    {
        if (f.BaseRow < 0 && f.State is { } encoded)
        {
            return LeadStateCodec.Decode(encoded, Model);
        }

        var state = NewFoldState();
        if (f.BaseRow >= 0)
        {
            Load(f.BaseRow, state);
        }

        return state;
    }

    /// <summary>Sets a row (emptied for a replay) to its lead's base state.</summary>
    private void RestoreBase(int row, FoldedHistory f)
    {
        if (f.BaseRow < 0)
        {
            SetState(row, BaseState(f));
            return;
        }

        Load(f.BaseRow, _scratch);
        Store(row, _scratch, traitsChanged: true);
    }

    /// <summary>The lead's base state, encoded (<see cref="LeadStateCodec"/>), as a store keeps it.</summary>
    private byte[] BaseStateBytes(FoldedHistory f) => f.State ?? LeadStateCodec.Encode(BaseState(f), Model);

    /// <summary>Makes a lead's folded history from a base state (a lead restored from a store).</summary>
    private void SetBase(int row, LeadState state, byte[] encoded, long count)
    {
        var f = new FoldedHistory { Count = count, Ticks = state.LastTicks, MessageId = state.LastMessageId! };
        if (_plan is null)
        {
            f.State = encoded;
        }
        else
        {
            f.BaseRow = NewBaseRow();
            SetState(f.BaseRow, state);
        }

        _rows[row].Folded = f;
    }

    private LeadState NewFoldState() => new(Model) { Traits = new Dictionary<string, DataValue>(StringComparer.Ordinal) };

    /// <summary>Whether the message's place is inside the lead's folded history (older than its base state's latest message).</summary>
    private bool IsFolded(int row, LeadMessage m) =>
        _rows[row].Folded is { } f && LeadMessage.CompareOrder(m.TimestampTicks, m.MessageId, f.Ticks, f.MessageId) <= 0;

    /// <summary>
    /// A message whose place is in the folded history: applied to the base state as it comes (not in its exact place),
    /// counted as beyond the horizon; the lead is then replayed from the new base.
    /// </summary>
    private void FoldLate(int row, LeadMessage m)
    {
        var f = _rows[row].Folded!;
        _fold.Clear();
        _fold.Add((m, -1));
        ApplyToBase(row, f, 1);
        _fold.Clear();
        f.Count++;
        Statistics.BeyondHorizon++;
    }

    /// <summary>
    /// A lead's folded history: its base state (a base row on flat rows, else encoded), the order key of its latest
    /// message, and how many messages it holds.
    /// </summary>
    private sealed class FoldedHistory
    {
        /// <summary>The base state, encoded (<see cref="LeadStateCodec"/>); null on flat rows, and before a full state's first fold.</summary>
        public byte[]? State;

        /// <summary>The row holding the base state on flat rows; -1 otherwise.</summary>
        public int BaseRow = -1;

        public long Ticks;
        public string MessageId = "";
        public long Count;
    }
}
