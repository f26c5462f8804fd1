using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The reorder horizon (<see cref="LeadScoringEngineOptions.ReorderHorizon"/>): a lead's messages older than the horizon,
/// counted back from its newest, are folded into a base state (kept encoded) and released from the history, so the
/// history holds about a horizon of messages per lead. Folding runs when a lead's kept messages have at least doubled
/// since the last fold (the threshold is 8 times a power of two, so the row keeps it in a byte): each message is folded
/// once, at a constant cost per message on average.
/// </summary>
public sealed partial class LeadScoringEngine
{
    private readonly List<(LeadMessage Message, int Entry)> _fold = [];

    /// <summary>Folds the lead's messages older than the horizon into its base state when enough have piled up.</summary>
    private void FoldIfDue(int row)
    {
        ref HotRow r = ref _hot[row];
        if (_horizon == long.MaxValue || r.Kept <= r.FoldAt)
        {
            return;
        }

        _fold.Clear();
        long newest = long.MinValue;
        for (int e = r.History; e >= 0; e = _index[e].Prev)
        {
            ref var entry = ref _index[e];
            if (entry.Live)
            {
                _fold.Add((Read(e), e));
                newest = Math.Max(newest, entry.Ticks);
            }
        }

        _fold.Sort(static (a, b) => LeadMessage.CompareTotal(a.Message, b.Message));
        long cut = newest - _horizon;
        int n = 0;
        while (n < _fold.Count && _fold[n].Message.TimestampTicks < cut)
        {
            n++;
        }

        if (n > 0)
        {
            // Folded messages leave the list: their ids stay findable in the table only.
            ref ColdRow c = ref _rows[row];
            var state = c.Folded is { } f ? LeadStateCodec.Decode(f.State, Model) : NewFoldState();
            for (int i = 0; i < n; i++)
            {
                _evaluator.Apply(state, _fold[i].Message);
                Release(_fold[i].Entry);
            }

            c.Folded = new FoldedHistory(LeadStateCodec.Encode(state, Model), state.LastTicks, state.LastMessageId!, (c.Folded?.Count ?? 0) + n);

            // The list keeps only the messages still held (newest first, as it grows).
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

    private const int MinFold = 8;

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
        ref ColdRow c = ref _rows[row];
        var f = c.Folded!;
        var state = LeadStateCodec.Decode(f.State, Model);
        _evaluator.Apply(state, m);
        c.Folded = f with { State = LeadStateCodec.Encode(state, Model), Count = f.Count + 1 };
        Statistics.BeyondHorizon++;
    }

    /// <summary>A lead's folded history: its base state, encoded, the order key of its latest message, and how many it holds.</summary>
    private sealed record FoldedHistory(byte[] State, long Ticks, string MessageId, long Count);
}
