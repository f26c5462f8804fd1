using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>A move between lifecycle stages: <c>{ "from", "to", "at" }</c>.</summary>
/// <param name="From">The stage left.</param>
/// <param name="To">The stage entered.</param>
/// <param name="At">When: the timestamp of the message after which the stage was re-evaluated, a tick of the stage clock, or the as-of time.</param>
public readonly record struct StageMove(string From, string To, DateTimeOffset At);

/// <summary>Per-value limit window for a rule with <c>limit.per</c>.</summary>
internal sealed class PerValueWindow
{
    public int Awards;
    public long[]? Ring;
    public int Written;

    public PerValueWindow Clone() => new() { Awards = Awards, Ring = (long[]?)Ring?.Clone(), Written = Written };
}

/// <summary>
/// What the engine keeps per lead to score it: traits, account, per-rule counters and windows, award
/// times of decaying rules, last times of the events <c>occurred</c> asks about, and the stage.
/// The message journal lives beside it (see <see cref="LeadScoringEngine"/>). Fixed-size parts are flat
/// arrays laid out by <see cref="CompiledModel"/>, so applying an in-order message allocates nothing.
/// </summary>
internal sealed class LeadState
{
    internal const string MissingKey = "\u0000missing";

    public LeadState(CompiledModel model)
    {
        Counts = new int[model.EventRuleCount * 2];
        Rings = model.RingCount == 0 ? [] : new long[]?[model.RingCount];
        RingWritten = model.RingCount == 0 ? [] : new int[model.RingCount];
        OccurredLast = new long[model.OccurredNames.Length];
        Array.Fill(OccurredLast, long.MinValue);
        if (model.KeepsAwardTimes)
        {
            AwardTimes = new List<long>?[model.EventRuleCount];
        }

        if (model.HasPerLimits)
        {
            PerValue = new Dictionary<string, PerValueWindow>?[model.EventRuleCount];
        }

        LastTicks = long.MinValue;
    }

    /// <summary>Timestamp of the latest message applied (spec 2.3 order).</summary>
    public long LastTicks;

    /// <summary>Message id of the latest message applied, the tie-breaker of <see cref="LastTicks"/>.</summary>
    public string? LastMessageId;

    /// <summary>The user id seen last (spec 2.2), with the order key of the message that carried it.</summary>
    public string? UserId;
    public long UserIdTicks = long.MinValue;
    public string? UserIdMessageId;

    /// <summary>The anonymous id this lead was first known by.</summary>
    public string? AnonymousId;

    public Dictionary<string, DataValue>? Traits;
    public string? GroupId;

    /// <summary>Per event rule: awards at <c>2e</c>, limit-suppressed candidates at <c>2e + 1</c>.</summary>
    public int[] Counts;

    /// <summary>Per window (see <see cref="StateLayout"/>): its timestamps, in a <see cref="WindowRing"/> that grows with use.</summary>
    public long[]?[] Rings;

    /// <summary>Per window: how many timestamps were ever written (the head is this modulo the size).</summary>
    public int[] RingWritten;

    public List<long>?[]? AwardTimes;
    public Dictionary<string, PerValueWindow>?[]? PerValue;

    /// <summary>Per name that an <c>occurred</c> condition asks about: the latest track timestamp, or <see cref="long.MinValue"/>.</summary>
    public long[] OccurredLast;

    public int Stage;
    public List<StageMove>? History;

    /// <summary>How many messages were applied.</summary>
    public int MessageCount;

    /// <summary>The timestamp of the lead's first message (spec 3.4: ticks count strictly after it); <see cref="long.MaxValue"/> before any.</summary>
    public long FirstTicks = long.MaxValue;

    /// <summary>
    /// Where the stage clock's ticks start for this state: a tick at exactly the latest message's time comes after that
    /// message (spec 3.4), except at the lead's first message, so the ticks to run are those strictly after this.
    /// </summary>
    public long TicksFrom => LastTicks > FirstTicks ? LastTicks - 1 : LastTicks;

    public bool IsAfterLast(long ticks, string messageId) => LeadMessage.CompareOrder(ticks, messageId, LastTicks, LastMessageId) > 0;

    /// <summary>Makes this state an exact copy of <paramref name="other"/>, reusing this one's buffers.</summary>
    public void CopyFrom(LeadState other)
    {
        LastTicks = other.LastTicks;
        LastMessageId = other.LastMessageId;
        UserId = other.UserId;
        UserIdTicks = other.UserIdTicks;
        UserIdMessageId = other.UserIdMessageId;
        AnonymousId = other.AnonymousId;
        GroupId = other.GroupId;
        Stage = other.Stage;
        MessageCount = other.MessageCount;
        FirstTicks = other.FirstTicks;
        if (other.Traits is null)
        {
            Traits?.Clear();
        }
        else
        {
            Traits ??= new Dictionary<string, DataValue>(other.Traits.Count, StringComparer.Ordinal);
            Traits.Clear();
            foreach (var (k, v) in other.Traits)
            {
                Traits[k] = v;
            }
        }

        other.Counts.CopyTo(Counts, 0);
        other.RingWritten.CopyTo(RingWritten, 0);
        for (int i = 0; i < Rings.Length; i++)
        {
            // The places in use: the written ones, all of the array once it is full.
            int length = other.Rings[i]?.Length ?? 0;
            int held = Math.Min(length, other.RingWritten[i]);
            other.Rings[i].AsSpan(0, held).CopyTo(WindowRing.Room(ref Rings[i], length, held));
        }

        other.OccurredLast.CopyTo(OccurredLast, 0);
        if (other.AwardTimes is not null)
        {
            for (int i = 0; i < other.AwardTimes.Length; i++)
            {
                var src = other.AwardTimes[i];
                if (src is null)
                {
                    AwardTimes![i]?.Clear();
                    continue;
                }

                var dst = AwardTimes![i] ??= new List<long>(src.Count);
                dst.Clear();
                dst.AddRange(src);
            }
        }

        if (other.PerValue is not null)
        {
            for (int i = 0; i < other.PerValue.Length; i++)
            {
                var src = other.PerValue[i];
                if (src is null)
                {
                    PerValue![i]?.Clear();
                    continue;
                }

                var dst = PerValue![i] ??= new Dictionary<string, PerValueWindow>(StringComparer.OrdinalIgnoreCase);
                if (dst.Count != src.Count)
                {
                    dst.Clear();
                }

                // Same keys (the steady state): copy into the existing windows instead of allocating new ones.
                foreach (var (k, v) in src)
                {
                    if (dst.TryGetValue(k, out var w) && (w.Ring?.Length ?? 0) == (v.Ring?.Length ?? 0))
                    {
                        w.Awards = v.Awards;
                        w.Written = v.Written;
                        v.Ring?.CopyTo(w.Ring!, 0);
                    }
                    else
                    {
                        dst[k] = v.Clone();
                    }
                }

                if (dst.Count != src.Count)
                {
                    dst.Clear();
                    foreach (var (k, v) in src)
                    {
                        dst[k] = v.Clone();
                    }
                }
            }
        }

        if (other.History is null || other.History.Count == 0)
        {
            History?.Clear();
        }
        else
        {
            History ??= new List<StageMove>(other.History.Count);
            History.Clear();
            History.AddRange(other.History);
        }
    }

    /// <summary>An independent deep copy.</summary>
    public LeadState Clone(CompiledModel model)
    {
        var copy = new LeadState(model);
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>Clears to the state of a lead with no messages.</summary>
    public void Reset()
    {
        LastTicks = long.MinValue;
        LastMessageId = null;
        UserId = null;
        UserIdTicks = long.MinValue;
        UserIdMessageId = null;
        GroupId = null;
        Stage = 0;
        MessageCount = 0;
        FirstTicks = long.MaxValue;
        Traits?.Clear();
        Array.Clear(Counts);
        Array.Clear(RingWritten); // the rings keep their arrays: only the first written places are ever read
        Array.Fill(OccurredLast, long.MinValue);
        if (AwardTimes is not null)
        {
            foreach (var list in AwardTimes)
            {
                list?.Clear();
            }
        }

        if (PerValue is not null)
        {
            foreach (var d in PerValue)
            {
                d?.Clear();
            }
        }

        History?.Clear();
    }

    /// <summary>Pushes a timestamp into ring <paramref name="ring"/>.</summary>
    public void Push(CompiledModel model, int ring, long ticks)
    {
        WindowRing.Push(ref Rings[ring], model.RingSizes[ring], ref RingWritten[ring], ticks);
    }

    /// <summary>
    /// The oldest of the last <c>size</c> timestamps of ring <paramref name="ring"/>, or <see cref="long.MinValue"/>
    /// when fewer than <c>size</c> were written.
    /// </summary>
    public long OldestOfFull(CompiledModel model, int ring) =>
        WindowRing.OldestOfFull(Rings[ring], model.RingSizes[ring], RingWritten[ring]);
}
