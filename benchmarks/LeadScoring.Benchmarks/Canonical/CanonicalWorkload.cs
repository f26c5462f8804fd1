using System.Globalization;
using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>The event types of the canonical workload, in the generator's <c>TYPES</c> order (§2).</summary>
public enum EventType : byte
{
    PageView,
    EmailOpen,
    EmailClick,
    FormSubmit,
    WebinarAttended,
    DemoRequest,
    Unsubscribe,
}

/// <summary>One behavioural event as an in-memory value (what the hand-written baseline reads).</summary>
/// <param name="Lead">The lead id, 0..99,999.</param>
/// <param name="Timestamp">Unix seconds.</param>
/// <param name="Type">The event type.</param>
/// <param name="Url">The page url (page views only), else null.</param>
public readonly record struct WorkloadEvent(int Lead, long Timestamp, EventType Type, string? Url);

/// <summary>The SplitMix64 generator of §2 (uint64 arithmetic with wrap-around).</summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        unchecked
        {
            _state += 0x9E3779B97F4A7C15UL;
            ulong z = _state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary><c>U(n) = next() mod n</c> (the modulo bias is part of the spec).</summary>
    public int U(int n) => (int)(Next() % (ulong)n);

    /// <summary>The first <c>i</c> with <c>U(total) &lt; cumulative[i]</c>.</summary>
    public int Pick(int[] cumulative)
    {
        int r = U(cumulative[^1]);
        int i = 0;
        while (r >= cumulative[i])
        {
            i++;
        }

        return i;
    }
}

/// <summary>
/// The canonical lead-scoring workload (shared/bench/canonical-workload.md): the §2 generator, the §3 Segment
/// messages built in memory, the §6 model and the §7 checksum. Everything is deterministic; <see cref="Generate"/>
/// takes about a second.
/// </summary>
public sealed class CanonicalWorkload
{
    public const ulong Seed = 20250101;
    public const int LeadCount = 100_000;
    public const int EventCount = 1_000_000;
    public const int HotLeads = 5_000;
    public const long T0 = 1_735_689_600;           // 2025-01-01T00:00:00Z
    public const int Span = 180 * 86_400;           // 15,552,000 s
    public const long Window = 30 * 86_400;         // 2,592,000 s
    public const int Mql = 50;
    public const string IdentifyTimestamp = "2024-12-31T23:59:59Z";

    /// <summary>An as-of time after every event (2025-07-01T00:00:00Z).</summary>
    public static readonly DateTimeOffset AsOf = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly DateTimeOffset IdentifyAt = new(2024, 12, 31, 23, 59, 59, TimeSpan.Zero);

    internal static readonly string[] Titles =
    [
        "CEO", "Chief Technology Officer", "Chief Marketing Officer", "VP of Sales", "VP Engineering",
        "Director of Marketing", "Director of IT", "Senior Manager", "Marketing Manager", "Product Manager",
        "Software Engineer", "Senior Developer", "Data Analyst", "Consultant", "Account Executive",
        "Student", "Marketing Intern", "Founder", "Operations Specialist", "Head of Growth",
    ];

    private static readonly int[] TitleWeights = [2, 2, 2, 4, 4, 5, 5, 6, 8, 7, 10, 6, 6, 6, 5, 3, 3, 3, 8, 5];
    private static readonly int[] SizeWeights = [15, 35, 25, 15, 10];
    private static readonly int[] SizeLow = [1, 10, 200, 1000, 5001];
    private static readonly int[] SizeHigh = [9, 199, 999, 5000, 50000];

    internal static readonly string[] Industries =
    [
        "software", "finance", "healthcare", "retail", "manufacturing", "education",
        "government", "nonprofit", "media", "logistics", "energy", "telecom",
    ];

    internal static readonly string[] Countries = ["US", "GB", "DE", "CA", "AU", "FR", "IN", "BR", "JP", "NL", "ES", "SG", "MX", "ZA", "PL"];
    private static readonly int[] CountryWeights = [30, 10, 8, 6, 4, 6, 10, 6, 4, 3, 3, 2, 3, 2, 3];

    internal static readonly string[] FreeDomains =
    [
        "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com",
        "icloud.com", "mail.com", "gmx.com", "proton.me", "yandex.com",
    ];

    private static readonly int[] TypeWeights = [58, 20, 10, 5, 3, 2, 2];

    private static readonly string[] Paths =
    [
        "/", "/pricing", "/pricing/enterprise", "/docs/getting-started", "/docs/api/v{k}", "/blog/post-{k}",
        "/case-studies/customer-{k}", "/careers", "/integrations/app-{k}", "/about", "/contact", "/features/feature-{k}",
    ];

    private static readonly int[] PathWeights = [18, 10, 3, 7, 7, 15, 6, 4, 6, 6, 5, 13];
    private static readonly string[] Utm = ["newsletter", "google", "linkedin", "partner"];
    private const string UrlPrefix = "https://www.example.com";

    /// <summary>Track names per <see cref="EventType"/> (null for page views).</summary>
    internal static readonly string?[] TrackNames =
        [null, "Email Opened", "Email Clicked", "Form Submitted", "Webinar Attended", "Demo Requested", "Unsubscribed"];

    private CanonicalWorkload(int events)
    {
        Title = new string[LeadCount];
        Size = new int[LeadCount];
        Industry = new string[LeadCount];
        Country = new string[LeadCount];
        Domain = new string[LeadCount];
        Events = new WorkloadEvent[events];
        UserIds = new string[LeadCount];
    }

    public string[] Title { get; }

    public int[] Size { get; }

    public string[] Industry { get; }

    public string[] Country { get; }

    public string[] Domain { get; }

    /// <summary>The events in <c>event_id</c> order (sorted by timestamp, ties in generation order).</summary>
    public WorkloadEvent[] Events { get; }

    /// <summary><c>L00000</c> … <c>L99999</c>; one string instance per lead, shared by all its messages.</summary>
    public string[] UserIds { get; }

    /// <summary>Generates the 100,000 leads and the 1,000,000 events (§2), then keeps the first <paramref name="events"/>.</summary>
    public static CanonicalWorkload Generate(int events = EventCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(events);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(events, EventCount);
        var w = new CanonicalWorkload(events);
        var rng = new SplitMix64(Seed);
        int[] cTitle = Cumulative(TitleWeights), cSize = Cumulative(SizeWeights), cCountry = Cumulative(CountryWeights);
        int[] cType = Cumulative(TypeWeights), cPath = Cumulative(PathWeights);

        for (int i = 0; i < LeadCount; i++)
        {
            w.Title[i] = Titles[rng.Pick(cTitle)];
            int b = rng.Pick(cSize);
            w.Size[i] = SizeLow[b] + rng.U(SizeHigh[b] - SizeLow[b] + 1);
            w.Industry[i] = Industries[rng.U(12)];
            w.Country[i] = Countries[rng.Pick(cCountry)];
            w.Domain[i] = rng.U(100) < 30
                ? FreeDomains[rng.U(10)]
                : "company" + rng.U(20000).ToString(CultureInfo.InvariantCulture) + ".com";
            w.UserIds[i] = "L" + i.ToString("D5", CultureInfo.InvariantCulture);
        }

        // Generation order; the 1,285 distinct urls are interned so every event of one url shares one string.
        var generated = new WorkloadEvent[EventCount];
        var urls = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new long[EventCount];
        var sb = new StringBuilder(96);
        for (int g = 0; g < EventCount; g++)
        {
            int lead = rng.U(4) == 0 ? rng.U(HotLeads) : rng.U(LeadCount);
            long ts = T0 + rng.U(Span);
            var type = (EventType)rng.Pick(cType);
            string? url = null;
            if (type == EventType.PageView)
            {
                string path = Paths[rng.Pick(cPath)];
                if (path.Contains("{k}", StringComparison.Ordinal))
                {
                    path = path.Replace("{k}", rng.U(50).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
                }

                sb.Clear().Append(UrlPrefix).Append(path);
                if (rng.U(10) < 3)
                {
                    sb.Append("?utm_source=").Append(Utm[rng.U(4)]);
                }

                string u = sb.ToString();
                if (!urls.TryGetValue(u, out url))
                {
                    urls[u] = url = u;
                }
            }

            generated[g] = new WorkloadEvent(lead, ts, type, url);
            // Stable sort by timestamp: the key orders by (timestamp, generation index); g < 2^20.
            keys[g] = (ts << 20) | (long)g;
        }

        Array.Sort(keys);
        for (int j = 0; j < events; j++)
        {
            w.Events[j] = generated[(int)(keys[j] & ((1 << 20) - 1))];
        }

        return w;
    }

    private static int[] Cumulative(int[] weights)
    {
        var c = new int[weights.Length];
        int acc = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            acc += weights[i];
            c[i] = acc;
        }

        return c;
    }

    // ------------------------------------------------------------------ messages (§3)

    /// <summary>The identify message of lead <paramref name="i"/>, built as the §3 template reads.</summary>
    public LeadMessage IdentifyMessage(int i) =>
        LeadMessage.Identify(
            "i" + i.ToString(CultureInfo.InvariantCulture), UserIds[i], IdentifyAt,
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["jobTitle"] = Title[i],
                ["companySize"] = Size[i],
                ["industry"] = Industry[i],
                ["country"] = Country[i],
                ["emailDomain"] = Domain[i],
            });

    /// <summary>The page or track message of event <paramref name="j"/>, built as the §3 template reads.</summary>
    public LeadMessage EventMessage(int j)
    {
        var e = Events[j];
        string id = "e" + j.ToString(CultureInfo.InvariantCulture);
        var at = DateTimeOffset.FromUnixTimeSeconds(e.Timestamp);
        return e.Type == EventType.PageView
            ? LeadMessage.Page(id, UserIds[e.Lead], at, new Dictionary<string, object?>(StringComparer.Ordinal) { ["url"] = e.Url })
            : LeadMessage.Track(id, UserIds[e.Lead], TrackNames[(int)e.Type]!, at);
    }

    /// <summary>The 100,000 identify messages, in <c>lead_id</c> order.</summary>
    public LeadMessage[] IdentifyMessages()
    {
        var a = new LeadMessage[LeadCount];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = IdentifyMessage(i);
        }

        return a;
    }

    /// <summary>The first <paramref name="count"/> event messages, in <c>event_id</c> order.</summary>
    public LeadMessage[] EventMessages(int count)
    {
        var a = new LeadMessage[count];
        for (int j = 0; j < a.Length; j++)
        {
            a[j] = EventMessage(j);
        }

        return a;
    }

    /// <summary>Line <paramref name="i"/> of messages.jsonl's identify part, exactly as §3 writes it (with the final <c>\n</c>).</summary>
    public string IdentifyLine(int i) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"type\":\"identify\",\"messageId\":\"i{i}\",\"userId\":\"{UserIds[i]}\",\"timestamp\":\"{IdentifyTimestamp}\",\"traits\":{{\"jobTitle\":\"{Title[i]}\",\"companySize\":{Size[i]},\"industry\":\"{Industry[i]}\",\"country\":\"{Country[i]}\",\"emailDomain\":\"{Domain[i]}\"}}}}\n");

    /// <summary>The line of event <paramref name="j"/>, exactly as §3 writes it (with the final <c>\n</c>).</summary>
    public string EventLine(int j)
    {
        var e = Events[j];
        string ts = DateTimeOffset.FromUnixTimeSeconds(e.Timestamp).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return e.Type == EventType.PageView
            ? string.Create(CultureInfo.InvariantCulture, $"{{\"type\":\"page\",\"messageId\":\"e{j}\",\"userId\":\"{UserIds[e.Lead]}\",\"timestamp\":\"{ts}\",\"properties\":{{\"url\":\"{e.Url}\"}}}}\n")
            : string.Create(CultureInfo.InvariantCulture, $"{{\"type\":\"track\",\"messageId\":\"e{j}\",\"userId\":\"{UserIds[e.Lead]}\",\"timestamp\":\"{ts}\",\"event\":\"{TrackNames[(int)e.Type]}\"}}\n");
    }

    // ------------------------------------------------------------------ model (§6)

    /// <summary>The compiled §6 model (model.json as workload.py writes it).</summary>
    public static CompiledModel CompileModel() =>
        CompiledModel.Compile(ScoringModelLoader.Load(ModelJson).GetModelOrThrow());

    /// <summary>model.json of §6, byte for byte (5,076 bytes).</summary>
    public const string ModelJson = """
        {
          "name": "canonical-workload",
          "version": "1",
          "scores": [
            {"name": "fit"},
            {"name": "engagement"},
            {"name": "total", "sum": {"fit": 1, "engagement": 1}}
          ],
          "rules": [
            {"id": "F01_title_vp_director", "score": "fit", "points": 15, "when": {"field": "traits.jobTitle", "op": "containsAny", "value": ["VP", "Director"]}},
            {"id": "F02_title_chief", "score": "fit", "points": 20, "when": {"field": "traits.jobTitle", "op": "contains", "value": "Chief"}},
            {"id": "F03_title_manager", "score": "fit", "points": 5, "when": {"field": "traits.jobTitle", "op": "contains", "value": "Manager"}},
            {"id": "F04_title_junior", "score": "fit", "points": -15, "when": {"field": "traits.jobTitle", "op": "containsAny", "value": ["Intern", "Student"]}},
            {"id": "F05_size_mid", "score": "fit", "points": 10, "when": {"field": "traits.companySize", "op": "between", "value": [200, 5000]}},
            {"id": "F06_size_enterprise", "score": "fit", "points": 5, "when": {"field": "traits.companySize", "op": "gt", "value": 5000}},
            {"id": "F07_size_micro", "score": "fit", "points": -5, "when": {"field": "traits.companySize", "op": "lt", "value": 10}},
            {"id": "F08_industry_target", "score": "fit", "points": 10, "when": {"field": "traits.industry", "op": "in", "value": ["software", "finance", "healthcare"]}},
            {"id": "F09_industry_low_fit", "score": "fit", "points": -5, "when": {"field": "traits.industry", "op": "in", "value": ["education", "government", "nonprofit"]}},
            {"id": "F10_free_mail_domain", "score": "fit", "points": -10, "when": {"field": "traits.emailDomain", "op": "in", "value": ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com", "mail.com", "gmx.com", "proton.me", "yandex.com"]}},
            {"id": "F11_country_target", "score": "fit", "points": 5, "when": {"field": "traits.country", "op": "in", "value": ["US", "CA", "GB", "DE", "AU"]}},
            {"id": "F12_tech_buyer", "score": "fit", "points": 5, "when": {"all": [{"field": "traits.industry", "op": "eq", "value": "software"}, {"field": "traits.jobTitle", "op": "containsAny", "value": ["Engineer", "Developer"]}]}},
            {"id": "E01_pricing_view", "score": "engagement", "points": 10, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/pricing"}, "limit": {"count": 3, "perDays": 30}},
            {"id": "E02_docs_view", "score": "engagement", "points": 2, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/docs"}, "limit": {"count": 5, "perDays": 30}},
            {"id": "E03_case_study_view", "score": "engagement", "points": 5, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/case-studies"}, "limit": {"count": 2, "perDays": 30}},
            {"id": "E04_careers_view", "score": "engagement", "points": -10, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/careers"}, "limit": {"count": 1, "perDays": 30}},
            {"id": "E05_blog_view", "score": "engagement", "points": 1, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/blog"}, "limit": {"count": 5, "perDays": 30}},
            {"id": "E06_integrations_view", "score": "engagement", "points": 3, "on": "$page", "when": {"field": "properties.url", "op": "contains", "value": "/integrations"}, "limit": {"count": 3, "perDays": 30}},
            {"id": "E07_form_submit", "score": "engagement", "points": 20, "on": "Form Submitted"},
            {"id": "E08_email_open", "score": "engagement", "points": 1, "on": "Email Opened", "limit": {"count": 10, "perDays": 30}},
            {"id": "E09_email_click", "score": "engagement", "points": 3, "on": "Email Clicked"},
            {"id": "E10_webinar_attended", "score": "engagement", "points": 15, "on": "Webinar Attended"},
            {"id": "E11_unsubscribe", "score": "engagement", "points": -50, "on": "Unsubscribed"},
            {"id": "E12_demo_request", "score": "engagement", "points": 40, "on": "Demo Requested"},
            {"id": "E13_demo_request_large_company", "score": "engagement", "points": 20, "on": "Demo Requested", "when": {"field": "traits.companySize", "op": "gte", "value": 1000}},
            {"id": "E14_pricing_view_senior", "score": "engagement", "points": 5, "on": "$page", "when": {"all": [{"field": "properties.url", "op": "contains", "value": "/pricing"}, {"field": "traits.jobTitle", "op": "containsAny", "value": ["VP", "Director", "Chief"]}]}, "limit": {"count": 3, "perDays": 30}},
            {"id": "E15_free_mail_form_submit", "score": "engagement", "points": -10, "on": "Form Submitted", "when": {"field": "traits.emailDomain", "op": "in", "value": ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com", "mail.com", "gmx.com", "proton.me", "yandex.com"]}},
            {"id": "E16_target_industry_webinar", "score": "engagement", "points": 5, "on": "Webinar Attended", "when": {"field": "traits.industry", "op": "in", "value": ["software", "finance", "healthcare"]}},
            {"id": "E18_micro_company_click", "score": "engagement", "points": -2, "on": "Email Clicked", "when": {"field": "traits.companySize", "op": "lt", "value": 10}}
          ]
        }

        """;

    // ------------------------------------------------------------------ reference values (§7)

    /// <summary>The §7 checksum line for a number of events (all leads identified); null when §7 has no row for it.</summary>
    public static string? Expected(int events) => events switch
    {
        EventCount => "checksum=0x7FEFCB65DDBD7D54 sum=3713871 mql(>=50)=27961 min=-175 max=635",
        200_000 => "checksum=0xF254C358F818EE43 sum=1432700 mql(>=50)=5139 min=-141 max=207",
        100_000 => "checksum=0x9DAD85FA7EEC9281 sum=1148972 mql(>=50)=2343 min=-112 max=194",
        20_000 => "checksum=0xB494A8F2A32A010B sum=921296 mql(>=50)=362 min=-105 max=132",
        0 => "checksum=0x66F5891CD9E60112 sum=865345 mql(>=50)=0 min=-35 max=45",
        _ => null,
    };

    /// <summary>The §7 line: FNV-1a-64 over the totals (each as an unsigned 32-bit word), sum, leads ≥ 50, min, max.</summary>
    public static string Describe(ReadOnlySpan<int> totals)
    {
        ulong h = 14695981039346656037UL;
        long sum = 0;
        int mql = 0, min = int.MaxValue, max = int.MinValue;
        foreach (int t in totals)
        {
            unchecked
            {
                h = (h ^ (uint)t) * 1099511628211UL;
            }

            sum += t;
            mql += t >= Mql ? 1 : 0;
            min = Math.Min(min, t);
            max = Math.Max(max, t);
        }

        return string.Create(CultureInfo.InvariantCulture, $"checksum=0x{h:X16} sum={sum} mql(>={Mql})={mql} min={min} max={max}");
    }

    /// <summary>Checks a checksum line against §7; throws when they differ.</summary>
    public static void Check(string what, int events, string actual)
    {
        string? expected = Expected(events);
        if (expected is null)
        {
            Console.WriteLine($"// {what}, {events:N0} events: {actual} (§7 has no row for this N)");
            return;
        }

        if (actual != expected)
        {
            throw new InvalidOperationException($"{what}, {events:N0} events: got {actual}, §7 expects {expected}");
        }

        Console.WriteLine($"// {what}, {events:N0} events: {actual} OK (§7)");
    }

    /// <summary>The lead totals (<c>lead_id</c> order) of an engine, read without building results.</summary>
    public int[] Totals(LeadScoringEngine scorer, string score = "total")
    {
        int index = scorer.Model.ScoreNames.IndexOf(score);
        var totals = new int[LeadCount];
        for (int i = 0; i < totals.Length; i++)
        {
            if (!scorer.TryGetScore(UserIds[i], index, AsOf, out double value))
            {
                throw new InvalidOperationException($"lead {UserIds[i]} unknown to the scorer");
            }

            totals[i] = checked((int)value);
        }

        return totals;
    }
}
