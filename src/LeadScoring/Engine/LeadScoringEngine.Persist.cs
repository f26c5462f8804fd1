namespace LeadScoring.Engine;

/// <summary>What a host that keeps its own message log persists of a lead (issue 13).</summary>
public sealed partial class LeadScoringEngine
{
    /// <summary>
    /// Exports the lead known by <paramref name="leadId"/> (any of its ids) as <see cref="ExportLead"/> does, but with an
    /// empty journal: for a store whose message log already holds the lead's messages and hands them back as the journal
    /// on load (see <see cref="ImportLead"/>). It saves collecting and copying the kept messages on every save. Null when
    /// the lead is unknown.
    /// </summary>
    public LeadSnapshot? ExportLeadState(string leadId) => Export(leadId, withJournal: false);

    /// <summary>
    /// The id the lead known by <paramref name="leadId"/> (any of its ids) is reported under, and every id linked to it
    /// (ordered), as <see cref="ExportLeadState"/> would give them, without encoding its state: for a host that saves
    /// states less often than it tracks changes. False when the lead is unknown.
    /// </summary>
    public bool TryGetLeadIds(string leadId, out string reportedId, out System.Collections.Immutable.ImmutableArray<string> ids)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            reportedId = "";
            ids = [];
            return false;
        }

        Replay(row);
        reportedId = ReportedId(row);
        ids = SortedIdsOf(row);
        return true;
    }

    /// <summary>Every id of a flat row, in ordinal order, in one array (no sorting iterator: the pipeline asks for every changed lead's ids).</summary>
    private System.Collections.Immutable.ImmutableArray<string> SortedIdsOf(int row)
    {
        ref ColdRow c = ref _rows[row];
        var others = c.OtherIds;
        int n = 1 + (others?.Count ?? 0);
        var all = new string[n];
        all[0] = c.FirstId!;
        if (others is not null)
        {
            int i = 1;
            foreach (var id in others)
            {
                all[i++] = id;
            }
        }

        if (n > 1)
        {
            Array.Sort(all, StringComparer.Ordinal);
        }

        return System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(all);
    }
}
