using System.Runtime.CompilerServices;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>One byte per capped rule: the stored count while the ring fills, then <c>cap + head</c>.</summary>
[InlineArray(HandWrittenBaseline.Slots)]
public struct SlotBytes
{
    private byte _element0;
}

/// <summary>The hand-written baseline's per-lead record (20 bytes).</summary>
public struct BaselineLead
{
    public int Total;
    public int CompanySize;
    public byte Flags;
    public SlotBytes Slots;
}

/// <summary>
/// The hand-written C# baseline of canonical-workload.md §8: the 29 rules written out, a <c>switch</c> on the event
/// type, ordinal <c>Contains</c> on the url, per lead a small struct (total, company size, SENIOR / FREE / TARGET_IND
/// flags, one byte per capped rule) and a flat <c>long[lead × 32]</c> ring of award timestamps. It allocates
/// nothing per event.
/// </summary>
public sealed class HandWrittenBaseline
{
    public const int Slots = 8;
    public const int RingWidth = 32;
    private const byte Senior = 1, Free = 2, TargetIndustry = 4;

    // Capped rules (slot): E01 (0), E02 (1), E03 (2), E04 (3), E05 (4), E06 (5), E08 (6), E14 (7).
    private static readonly byte[] Cap = [3, 5, 2, 1, 5, 3, 10, 3];
    private static readonly byte[] Offset = [0, 3, 8, 10, 11, 16, 19, 29];

    private readonly BaselineLead[] _leads;
    private readonly long[] _ring;

    public HandWrittenBaseline(int leads)
    {
        _leads = new BaselineLead[leads];
        _ring = new long[leads * RingWidth];
    }

    public ReadOnlySpan<BaselineLead> Leads => _leads;

    /// <summary>The 12 fit rules (F01–F12) on a profile, ordinal string tests.</summary>
    public static int Fit(string title, int size, string industry, string country, string domain)
    {
        int p = 0;
        if (title.Contains("VP", StringComparison.Ordinal) || title.Contains("Director", StringComparison.Ordinal))
        {
            p += 15;
        }

        if (title.Contains("Chief", StringComparison.Ordinal))
        {
            p += 20;
        }

        if (title.Contains("Manager", StringComparison.Ordinal))
        {
            p += 5;
        }

        if (title.Contains("Intern", StringComparison.Ordinal) || title.Contains("Student", StringComparison.Ordinal))
        {
            p -= 15;
        }

        if (size >= 200 && size <= 5000)
        {
            p += 10;
        }

        if (size > 5000)
        {
            p += 5;
        }

        if (size < 10)
        {
            p -= 5;
        }

        bool target = IsTargetIndustry(industry);
        if (target)
        {
            p += 10;
        }

        if (industry is "education" or "government" or "nonprofit")
        {
            p -= 5;
        }

        if (IsFreeDomain(domain))
        {
            p -= 10;
        }

        if (country is "US" or "CA" or "GB" or "DE" or "AU")
        {
            p += 5;
        }

        if (industry == "software" && (title.Contains("Engineer", StringComparison.Ordinal) || title.Contains("Developer", StringComparison.Ordinal)))
        {
            p += 5;
        }

        return p;
    }

    private static bool IsTargetIndustry(string industry) => industry is "software" or "finance" or "healthcare";

    private static bool IsFreeDomain(string domain) =>
        domain is "gmail.com" or "yahoo.com" or "hotmail.com" or "outlook.com" or "aol.com"
            or "icloud.com" or "mail.com" or "gmx.com" or "proton.me" or "yandex.com";

    /// <summary>"Identify": the lead's fit, flags and size; no events (the ring needs no clearing: the counts are 0).</summary>
    public void Identify(int lead, string title, int size, string industry, string country, string domain)
    {
        ref var l = ref _leads[lead];
        l.Total = Fit(title, size, industry, country, domain);
        l.CompanySize = size;
        l.Flags = (byte)(
            (title.Contains("VP", StringComparison.Ordinal) || title.Contains("Director", StringComparison.Ordinal) || title.Contains("Chief", StringComparison.Ordinal) ? Senior : 0)
            | (IsFreeDomain(domain) ? Free : 0)
            | (IsTargetIndustry(industry) ? TargetIndustry : 0));
        l.Slots = default;
    }

    /// <summary>Identifies every lead of the workload.</summary>
    public void IdentifyAll(CanonicalWorkload w)
    {
        for (int i = 0; i < _leads.Length; i++)
        {
            Identify(i, w.Title[i], w.Size[i], w.Industry[i], w.Country[i], w.Domain[i]);
        }
    }

    /// <summary>Applies one event (§4 direct form).</summary>
    public void Apply(in WorkloadEvent e)
    {
        ref var l = ref _leads[e.Lead];
        long t = e.Timestamp;
        int p = 0;
        switch (e.Type)
        {
            case EventType.PageView:
                string url = e.Url!;
                bool pricing = url.Contains("/pricing", StringComparison.Ordinal);
                if (pricing && UnderCap(ref l, e.Lead, 0, t))
                {
                    p += 10;
                }

                if (url.Contains("/docs", StringComparison.Ordinal) && UnderCap(ref l, e.Lead, 1, t))
                {
                    p += 2;
                }

                if (url.Contains("/case-studies", StringComparison.Ordinal) && UnderCap(ref l, e.Lead, 2, t))
                {
                    p += 5;
                }

                if (url.Contains("/careers", StringComparison.Ordinal) && UnderCap(ref l, e.Lead, 3, t))
                {
                    p -= 10;
                }

                if (url.Contains("/blog", StringComparison.Ordinal) && UnderCap(ref l, e.Lead, 4, t))
                {
                    p += 1;
                }

                if (url.Contains("/integrations", StringComparison.Ordinal) && UnderCap(ref l, e.Lead, 5, t))
                {
                    p += 3;
                }

                if (pricing && (l.Flags & Senior) != 0 && UnderCap(ref l, e.Lead, 7, t))
                {
                    p += 5;
                }

                break;
            case EventType.EmailOpen:
                if (UnderCap(ref l, e.Lead, 6, t))
                {
                    p += 1;
                }

                break;
            case EventType.EmailClick:
                p += l.CompanySize < 10 ? 3 - 2 : 3;
                break;
            case EventType.FormSubmit:
                p += (l.Flags & Free) != 0 ? 20 - 10 : 20;
                break;
            case EventType.WebinarAttended:
                p += (l.Flags & TargetIndustry) != 0 ? 15 + 5 : 15;
                break;
            case EventType.DemoRequest:
                p += l.CompanySize >= 1000 ? 40 + 20 : 40;
                break;
            case EventType.Unsubscribe:
                p -= 50;
                break;
        }

        l.Total += p;
    }

    /// <summary>
    /// The cap of §4: score iff fewer than <c>cap</c> awards are stored, or the oldest stored is at least 30 days
    /// older; on scoring, store <paramref name="t"/> (replacing the oldest when full).
    /// </summary>
    private bool UnderCap(ref BaselineLead l, int lead, int slot, long t)
    {
        int cap = Cap[slot];
        int s = l.Slots[slot];
        int at = (lead * RingWidth) + Offset[slot];
        if (s < cap)
        {
            _ring[at + s] = t;
            l.Slots[slot] = (byte)(s + 1);   // reaching cap means "full, head 0"
            return true;
        }

        int head = s - cap;
        if (t - _ring[at + head] < CanonicalWorkload.Window)
        {
            return false;
        }

        _ring[at + head] = t;
        l.Slots[slot] = (byte)(cap + ((head + 1) % cap));
        return true;
    }

    /// <summary>Every lead's total in <c>lead_id</c> order.</summary>
    public int[] Totals()
    {
        var totals = new int[_leads.Length];
        for (int i = 0; i < totals.Length; i++)
        {
            totals[i] = _leads[i].Total;
        }

        return totals;
    }
}
