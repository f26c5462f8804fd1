namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// A lead's profile as the two peer rule engines read it (canonical-workload.md §8): the five traits of §2 as
/// properties, one object per lead, built outside every timed region.
/// </summary>
public sealed class PeerProfile
{
    public required string Title { get; init; }

    public required int Size { get; init; }

    public required string Industry { get; init; }

    public required string Country { get; init; }

    public required string Domain { get; init; }

    /// <summary>The 100,000 profiles of the workload, in <c>lead_id</c> order.</summary>
    public static PeerProfile[] All(CanonicalWorkload w)
    {
        var a = new PeerProfile[CanonicalWorkload.LeadCount];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = new PeerProfile { Title = w.Title[i], Size = w.Size[i], Industry = w.Industry[i], Country = w.Country[i], Domain = w.Domain[i] };
        }

        return a;
    }
}

/// <summary>
/// One behavioural event as the peer engines read it: an object with properties (both engines match on object
/// members), built outside the timed region like LeadScoring's messages.
/// </summary>
public sealed class PeerEvent
{
    public required int Lead { get; init; }

    public required EventType Type { get; init; }

    /// <summary>The page url (page views only), else null.</summary>
    public required string? Url { get; init; }

    /// <summary>Unix seconds.</summary>
    public required long Ts { get; init; }

    /// <summary>The first <paramref name="count"/> events of the workload, in <c>event_id</c> order.</summary>
    public static PeerEvent[] All(CanonicalWorkload w, int count)
    {
        var a = new PeerEvent[count];
        for (int j = 0; j < a.Length; j++)
        {
            var e = w.Events[j];
            a[j] = new PeerEvent { Lead = e.Lead, Type = e.Type, Url = e.Url, Ts = e.Timestamp };
        }

        return a;
    }
}

/// <summary>
/// The host state per lead that both peer engines need, since neither has keyed time windows (§8): the lead's
/// total, and for each of the 8 capped rules (slots of §5) a ring of the timestamps of its last <c>cap</c> awards.
/// Rule conditions call <see cref="UnderCap"/> (the state as it was before the event); the host calls
/// <see cref="RecordHit"/> for each capped rule that scored, after evaluating all rules of the event. Each slot
/// belongs to one rule, so that order is exact.
/// </summary>
public sealed class PeerLeadState
{
    public const int Slots = 8;

    // Caps per slot: E01 3, E02 5, E03 2, E04 1, E05 5, E06 3, E08 10, E14 3 (ring width 32).
    private static readonly int[] Cap = [3, 5, 2, 1, 5, 3, 10, 3];
    private static readonly int[] Offset = [0, 3, 8, 10, 11, 16, 19, 29];

    private readonly long[] _ring = new long[32];
    private readonly byte[] _count = new byte[Slots];
    private readonly byte[] _head = new byte[Slots];

    /// <summary>A lead with its fit already applied and no events.</summary>
    public PeerLeadState(int fit) => Total = fit;

    /// <summary>fit + engagement.</summary>
    public int Total { get; private set; }

    /// <summary>Adds a rule's points to the total.</summary>
    public void Add(int points) => Total += points;

    /// <summary>Whether rule <paramref name="slot"/> may score at <paramref name="t"/>: fewer than its cap stored, or the oldest stored at least 30 days older.</summary>
    public bool UnderCap(int slot, long t) =>
        _count[slot] < Cap[slot] || t - _ring[Offset[slot] + _head[slot]] >= CanonicalWorkload.Window;

    /// <summary>Stores an award of rule <paramref name="slot"/> at <paramref name="t"/>, replacing the oldest when full.</summary>
    public void RecordHit(int slot, long t)
    {
        int cap = Cap[slot], n = _count[slot];
        if (n < cap)
        {
            _ring[Offset[slot] + n] = t;
            _count[slot] = (byte)(n + 1);
            return;
        }

        int head = _head[slot];
        _ring[Offset[slot] + head] = t;
        _head[slot] = (byte)((head + 1) % cap);
    }

    /// <summary>Fresh states for every lead, each starting from its fit.</summary>
    public static PeerLeadState[] Fresh(int[] fit)
    {
        var a = new PeerLeadState[fit.Length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = new PeerLeadState(fit[i]);
        }

        return a;
    }

    /// <summary>Every lead's total in <c>lead_id</c> order.</summary>
    public static int[] Totals(PeerLeadState[] states)
    {
        var totals = new int[states.Length];
        for (int i = 0; i < totals.Length; i++)
        {
            totals[i] = states[i].Total;
        }

        return totals;
    }
}
