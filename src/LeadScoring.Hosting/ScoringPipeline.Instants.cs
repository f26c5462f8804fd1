using System.Collections.Immutable;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// The score history of a lead with several new instants in one batch, without reading its older messages back. The
/// history needs the lead's outcome at each of them; the engine works them out by replaying the lead's kept messages
/// (<see cref="LeadScoringEngine.EvaluateMessageInstants"/>), which with the message log as the replay history would
/// read messages of older batches from the store, for traffic in order. So, with the log as the history, the state of
/// such a lead is exported before the batch is applied, and when the batch only appended to it (no replay or merge in
/// its partition), its instants are evaluated in a scratch engine from that state and the batch's own messages: the
/// same evaluations, from the same state. Otherwise (a late message, a copy, a merge, an account change: the cases
/// that may read the log anyway) the engine replays the lead as before.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>Leads imported into <see cref="_scratch"/> before it is made again (removed leads leave rows behind).</summary>
    private const int ScratchUses = 4_096;

    private LeadScoringEngine? _scratch;
    private int _scratchUses;

    /// <summary>
    /// Before a partition applies its batch (under its lock): the states of its known leads with two or more instants in
    /// the batch, and its replay and merge counters.
    /// </summary>
    private static void CaptureBefore(Partition p)
    {
        p.Before.Clear();
        p.WorkBefore = Work(p.Engine);
        var firsts = p.FirstInstants;
        firsts.Clear();
        foreach (var m in p.Batch)
        {
            string id = m.LeadId;
            if (!firsts.TryGetValue(id, out long t))
            {
                firsts[id] = m.TimestampTicks;
            }
            else if (t != m.TimestampTicks && t != long.MinValue)
            {
                firsts[id] = long.MinValue;   // two instants: export it
                if (p.Engine.ExportLeadState(id) is { } state)
                {
                    p.Before[id] = state;
                }
            }
        }
    }

    private static long Work(LeadScoringEngine engine) => engine.Statistics.Replays + engine.Statistics.Merges;

    /// <summary>
    /// The lead's results at its instants from <paramref name="from"/> on, from its state before the batch and the
    /// batch's messages of it, when the batch only appended to it; false otherwise.
    /// </summary>
    private bool TryInstantsFromBefore(Partition p, string lead, ImmutableArray<string> ids, long from, out IReadOnlyList<LeadResult> steps)
    {
        steps = [];
        if (_messageLog is null || Work(p.Engine) != p.WorkBefore)
        {
            return false;
        }

        LeadSnapshot? before = null;
        foreach (var id in ids)
        {
            if (p.Before.TryGetValue(id, out before))
            {
                break;
            }
        }

        if (before is null || before.LeadId != lead || !before.Ids.SequenceEqual(ids))
        {
            return false;   // not exported, or now reported under another id or with other ids
        }

        var journal = new List<LeadMessage>();
        foreach (var (m, outcome) in p.Applied)
        {
            if (outcome == ApplyOutcome.Applied && ((m.UserId is { } u && ids.Contains(u)) || (m.AnonymousId is { } a && ids.Contains(a))))
            {
                journal.Add(m);
            }
        }

        var scratch = Scratch();
        scratch.ImportLead(LeadSnapshot.Create(lead, ids, before.State, before.State, journal));
        steps = scratch.EvaluateMessageInstants(lead, new DateTimeOffset(from, TimeSpan.Zero), out _);
        scratch.RemoveLead(lead);
        return true;
    }

    /// <summary>The scratch engine, with every partition's account messages; made again every <see cref="ScratchUses"/> leads.</summary>
    private LeadScoringEngine Scratch()
    {
        if (_scratch is null || _scratchUses++ >= ScratchUses || !ReferenceEquals(_scratch.Model, _model))
        {
            _scratch = new LeadScoringEngine(_model!, new LeadScoringEngineOptions { ReorderHorizon = null });
            _scratch.ImportAccountMessages(_partitions[0].Engine.ExportAccountMessages());
            _scratchUses = 0;
        }

        return _scratch;
    }
}
