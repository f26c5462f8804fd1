namespace LeadScoring.Engine;

/// <summary>
/// The id of a flat row's latest message (spec 2.3's second key: it breaks ties of equal timestamps). A row does not keep
/// it (a string per lead, 40 B on the canonical workload, and with the command-line tool's file history the only copy):
/// the lead's history tells it. The latest message is, of the lead's live messages and its folded base state, the
/// greatest in spec 2.3 order, so its id is the greatest id among those with the row's latest timestamp. It is read
/// back only on a tie (a message at the same instant as the lead's latest), when a full state is loaded from the row
/// (evaluation, export, the general step), and not at all on the in-order path.
/// <para>
/// Two exceptions keep it elsewhere. The row last given an id (the in-order step, a replay in progress) has it in a
/// one-entry cache, so a replay that loads its row between two messages reads the id it just applied, not a later
/// one's. A lead whose history does not tell it (its past changed and it awaits a replay, or an import whose journal
/// lacks the latest message) has it pinned in its <see cref="RowExtra"/> until the replay.
/// </para>
/// </summary>
public sealed partial class LeadScoringEngine
{
    private int _lastIdRow = -1;
    private string? _lastId;

    /// <summary>Notes <paramref name="id"/> as the id of the row's latest message (its timestamp was just set).</summary>
    private void SetLastId(int row, ref HotRow r, string? id)
    {
        _lastIdRow = row;
        _lastId = id;
        if (r.LastPinned)
        {
            _rows[row].Extra!.LastMessageId = id;
        }
    }

    /// <summary>The id of the flat row's latest message, or null when it has none.</summary>
    private string? LastIdOf(int row)
    {
        if (row == _lastIdRow)
        {
            return _lastId;
        }

        ref HotRow r = ref _hot[row];
        if (r.LastPinned)
        {
            return _rows[row].Extra!.LastMessageId;
        }

        return r.LastTicks == long.MinValue ? null : DeriveLastId(row);
    }

    /// <summary>The greatest id among the row's live messages and folded base state at its latest timestamp.</summary>
    private string DeriveLastId(int row) => FindLastId(row) ?? throw new InvalidOperationException(
        $"Internal error: lead row {row} has no message at its latest timestamp in its history; please report it.");

    /// <summary>
    /// Pins the row's latest id before its history changes in the past (a copy released, two leads' lists joined):
    /// until its replay the history no longer tells it.
    /// </summary>
    private void PinLastId(int row)
    {
        if (_plan is null || _hot[row].LastPinned)
        {
            return;
        }

        Pin(row, LastIdOf(row));
    }

    /// <summary>After a replay the history tells the latest id again: the pin goes.</summary>
    private void UnpinLastId(int row)
    {
        ref HotRow r = ref _hot[row];
        if (r.LastPinned && string.Equals(FindLastId(row), _rows[row].Extra!.LastMessageId, StringComparison.Ordinal))
        {
            r.LastPinned = false;
            _rows[row].Extra!.LastMessageId = null;
        }
    }

    /// <summary>
    /// After an import: pins <paramref name="id"/>, the imported state's latest id, when the lead's journal and base
    /// state do not hold that message.
    /// </summary>
    private void PinLastIdIfUntold(int row, string? id)
    {
        if (_plan is not null && !string.Equals(FindLastId(row), id, StringComparison.Ordinal))
        {
            Pin(row, id);
        }
    }

    private void Pin(int row, string? id)
    {
        (_rows[row].Extra ??= new RowExtra()).LastMessageId = id;
        _hot[row].LastPinned = true;
    }

    /// <summary><see cref="DeriveLastId"/>, or null when the history holds no message at the row's latest timestamp.</summary>
    private string? FindLastId(int row)
    {
        long ticks = _hot[row].LastTicks;
        string? best = _rows[row].Folded is { } folded && folded.Ticks == ticks ? folded.MessageId : null;
        for (int e = _hot[row].History; e >= 0; e = _index[e].Prev)
        {
            ref var entry = ref _index[e];
            if (entry.Live && entry.Ticks == ticks && Read(e).MessageId is var id && (best is null || string.CompareOrdinal(id, best) > 0))
            {
                best = id;
            }
        }

        return best;
    }
}
