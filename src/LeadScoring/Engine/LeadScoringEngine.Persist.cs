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
    public LeadSnapshot? ExportLeadState(string leadId)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return null;
        }

        Replay(row);
        return new LeadSnapshot(ReportedId(row), [.. IdsOf(row).Order(StringComparer.Ordinal)], LeadStateCodec.Encode(CurrentState(row), Model),
            _rows[row].Folded is { } folded ? folded.State : null, []);
    }
}
