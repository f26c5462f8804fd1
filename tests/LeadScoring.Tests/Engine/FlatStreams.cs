using CsCheck;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Engine;

/// <summary>One generated in-order stream for a flat-capable model, and the instant to evaluate it at.</summary>
internal sealed record FlatCase(List<LeadMessage> Messages, DateTimeOffset AsOf)
{
    public override string ToString() => $"{Messages.Count} messages, as of {AsOf:O}:\n" + string.Join("\n", Messages.Select(m => m.ToJson()));
}

/// <summary>
/// Models <see cref="LeadScoringEngine"/> can keep as flat rows, shaped like the canonical workload
/// (/work/shared/bench/canonical-workload.md §6), and generators of in-order message streams for them.
/// </summary>
internal static class FlatStreams
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Canonical-like: fit rules on traits (with <c>all</c> and <c>not</c>), page rules on <c>properties.url</c>
    /// with <c>contains</c> and limits per 30 days, track rules with trait conditions, an <c>any</c> and a
    /// <c>not</c> mixing trait and message leaves, lifetime limits without <c>perDays</c>, a rule on
    /// <c>context.source</c>, trait leaves that hold on a missing trait (<c>notExists</c>, <c>ne</c>), a grade,
    /// personas and a single stage. Every message field is one level deep, so the JSON fast path can read it.
    /// </summary>
    public const string ModelJson = """
        {
          "name": "flat-canonical-like", "version": "1",
          "scores": [
            { "name": "fit" },
            { "name": "engagement" },
            { "name": "total", "sum": { "fit": 1, "engagement": 1 } }
          ],
          "rules": [
            { "id": "F01_title_vp_director", "score": "fit", "points": 15, "when": { "field": "traits.jobTitle", "op": "containsAny", "value": ["VP", "Director"] } },
            { "id": "F02_title_chief", "score": "fit", "points": 20, "when": { "field": "traits.jobTitle", "op": "contains", "value": "Chief" } },
            { "id": "F04_title_junior", "score": "fit", "points": -15, "when": { "field": "traits.jobTitle", "op": "containsAny", "value": ["Intern", "Student"] } },
            { "id": "F05_size_mid", "score": "fit", "points": 10, "when": { "field": "traits.companySize", "op": "between", "value": [200, 5000] } },
            { "id": "F06_size_enterprise", "score": "fit", "points": 5, "when": { "field": "traits.companySize", "op": "gt", "value": 5000 } },
            { "id": "F07_size_micro", "score": "fit", "points": -5, "when": { "field": "traits.companySize", "op": "lt", "value": 10 } },
            { "id": "F08_industry_target", "score": "fit", "points": 10, "when": { "field": "traits.industry", "op": "in", "value": ["software", "finance", "healthcare"] } },
            { "id": "F10_free_mail_domain", "score": "fit", "points": -10, "when": { "field": "traits.emailDomain", "op": "in", "value": ["gmail.com", "yahoo.com", "hotmail.com"] } },
            { "id": "F11_country_target", "score": "fit", "points": 5, "when": { "field": "traits.country", "op": "in", "value": ["US", "CA", "GB", "DE", "AU"] } },
            { "id": "F12_tech_buyer", "score": "fit", "points": 5, "when": { "all": [ { "field": "traits.industry", "op": "eq", "value": "software" }, { "field": "traits.jobTitle", "op": "containsAny", "value": ["Engineer", "Developer"] } ] } },
            { "id": "F13_not_junior", "score": "fit", "points": 2, "when": { "not": { "field": "traits.jobTitle", "op": "containsAny", "value": ["Intern", "Student"] } } },
            { "id": "E01_pricing_view", "score": "engagement", "points": 10, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/pricing" }, "limit": { "count": 3, "perDays": 30 } },
            { "id": "E02_docs_view", "score": "engagement", "points": 2, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/docs" }, "limit": { "count": 5, "perDays": 30 } },
            { "id": "E03_case_study_view", "score": "engagement", "points": 5, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/case-studies" }, "limit": { "count": 2, "perDays": 30 } },
            { "id": "E04_careers_view", "score": "engagement", "points": -10, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/careers" }, "limit": { "count": 1, "perDays": 30 } },
            { "id": "E05_blog_view", "score": "engagement", "points": 1, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/blog" }, "limit": { "count": 5, "perDays": 30 } },
            { "id": "E06_number_url", "score": "engagement", "points": 4, "on": "$page", "when": { "field": "properties.url", "op": "gte", "value": 40 } },
            { "id": "E07_form_submit", "score": "engagement", "points": 20, "on": "Form Submitted" },
            { "id": "E08_email_open", "score": "engagement", "points": 1, "on": "Email Opened", "limit": { "count": 10, "perDays": 30 } },
            { "id": "E09_email_click", "score": "engagement", "points": 3, "on": "Email Clicked" },
            { "id": "E10_webinar_attended", "score": "engagement", "points": 15, "on": "Webinar Attended" },
            { "id": "E11_unsubscribe", "score": "engagement", "points": -50, "on": "Unsubscribed", "limit": { "count": 1 } },
            { "id": "E12_demo_request", "score": "engagement", "points": 40, "on": "Demo Requested", "limit": { "count": 2 } },
            { "id": "E13_demo_request_large_company", "score": "engagement", "points": 20, "on": "Demo Requested", "when": { "field": "traits.companySize", "op": "gte", "value": 1000 } },
            { "id": "E14_pricing_view_senior", "score": "engagement", "points": 5, "on": "$page", "when": { "all": [ { "field": "properties.url", "op": "contains", "value": "/pricing" }, { "field": "traits.jobTitle", "op": "containsAny", "value": ["VP", "Director", "Chief"] } ] }, "limit": { "count": 3, "perDays": 30 } },
            { "id": "E15_free_mail_form_submit", "score": "engagement", "points": -10, "on": "Form Submitted", "when": { "field": "traits.emailDomain", "op": "in", "value": ["gmail.com", "yahoo.com", "hotmail.com"] } },
            { "id": "E16_webinar_any", "score": "engagement", "points": 5, "on": "Webinar Attended", "when": { "any": [ { "field": "traits.industry", "op": "in", "value": ["software", "finance", "healthcare"] }, { "field": "properties.format", "op": "eq", "value": "live" } ] } },
            { "id": "E18_micro_company_click", "score": "engagement", "points": -2, "on": "Email Clicked", "when": { "field": "traits.companySize", "op": "lt", "value": 10 } },
            { "id": "E19_not_careers_or_junior", "score": "engagement", "points": 1, "on": "$page", "when": { "not": { "any": [ { "field": "properties.url", "op": "contains", "value": "/careers" }, { "field": "traits.jobTitle", "op": "containsAny", "value": ["Intern", "Student"] } ] } }, "limit": { "count": 4, "perDays": 30 } },
            { "id": "E20_paid_campaign", "score": "engagement", "points": 3, "on": ["$page", "Content Downloaded"], "when": { "field": "context.source", "op": "in", "value": ["google", "linkedin"] }, "limit": { "count": 2, "perDays": 30 } },
            { "id": "E22_untitled_download", "score": "engagement", "points": 7, "on": "Content Downloaded", "when": { "field": "traits.jobTitle", "op": "notExists" } },
            { "id": "E23_non_us_click", "score": "engagement", "points": 1, "on": "Email Clicked", "when": { "field": "traits.country", "op": "ne", "value": "US" } },
            { "id": "E21_download_lifetime", "score": "engagement", "points": 2, "on": ["Content Downloaded", "Webinar Attended"], "when": { "field": "properties.format", "op": "ne", "value": "blog" }, "limit": { "count": 4 } }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 30 }, { "grade": "B", "min": 15 }, { "grade": "C", "min": 0 }, { "grade": "D" } ] },
          "personas": [
            { "name": "economic-buyer", "when": { "field": "traits.jobTitle", "op": "containsAny", "value": ["VP", "Chief"] } },
            { "name": "practitioner", "when": { "field": "traits.jobTitle", "op": "exists" } }
          ],
          "stages": [ { "name": "lead" } ]
        }
        """;

    /// <summary>
    /// The same rules, but the campaign is read from a nested path (<c>context.campaign.source</c>): still flat rows,
    /// but a field the JSON fast path cannot find while reading, so every line goes through the parser.
    /// </summary>
    public static readonly string NestedContextModelJson = ModelJson
        .Replace("\"context.source\"", "\"context.campaign.source\"", StringComparison.Ordinal)
        .Replace("flat-canonical-like", "flat-nested-context", StringComparison.Ordinal);

    /// <summary>
    /// The same rules but E22 and E23, the event rules whose trait leaves hold on a missing trait (<c>notExists</c>,
    /// <c>ne</c>): for streams where leads act before their traits are known (see the report of
    /// <see cref="LeadScorerTests.Bug_FlatRows_TraitLeafThatHoldsOnAMissingTrait_IsFalseUntilTheFirstIdentifyWithTraits"/>).
    /// </summary>
    public static readonly string NoMissingTraitLeafModelJson = string.Join("\n", ModelJson.Split('\n')
        .Where(line => !line.Contains("\"E22_", StringComparison.Ordinal) && !line.Contains("\"E23_", StringComparison.Ordinal)));

    public static CompiledModel Model { get; } = Compile(ModelJson);

    public static CompiledModel NoMissingTraitLeafModel { get; } = Compile(NoMissingTraitLeafModelJson);

    public static CompiledModel NestedContextModel { get; } = Compile(NestedContextModelJson);

    public static CompiledModel Compile(string json) => CompiledModel.Compile(ScoringModelLoader.Load(json).GetModelOrThrow());

    private static readonly string[] Titles = ["VP of Sales", "Director of IT", "Chief Technology Officer", "Software Engineer", "Marketing Intern", "Student", "Marketing Manager"];
    private static readonly object[] Sizes = [5, 250, 1200, 8000, "300", 10, 5000];
    private static readonly string[] Industries = ["software", "finance", "education", "retail"];
    private static readonly string[] Domains = ["gmail.com", "corp.example", "yahoo.com"];
    private static readonly string[] Countries = ["US", "DE", "FR", "GB"];

    /// <summary>URLs, with <c>null</c> for a page without one and a number for a URL that is not a string.</summary>
    public static readonly object?[] Urls =
    [
        "/pricing", "/pricing/enterprise", "/docs/api", "/case-studies/acme", "/careers", "/blog/post-1", "/integrations", "/",
        "https://www.example.com/pricing?utm=x", "/Docs/API", null, 42,
    ];

    /// <summary>Event names, some differing only in case (names compare case-insensitively), one no rule reads.</summary>
    public static readonly string[] Events =
    [
        "Form Submitted", "Email Opened", "email opened", "Email Clicked", "Webinar Attended", "Unsubscribed",
        "Demo Requested", "DEMO REQUESTED", "Content Downloaded", "Feature Used",
    ];

    private static readonly string?[] Sources = [null, "google", "linkedin", "newsletter"];
    private static readonly string?[] Formats = [null, "live", "blog", "pdf"];

    /// <summary>One step of a stream, drawn as numbers: the lead, what it does, how much later, and a variant.</summary>
    private static readonly Gen<(int Lead, int Action, int Delay, int Variant)> Step =
        Gen.Select(Gen.Int[0, 5], Gen.Int[0, 99], Gen.Int[0, 6], Gen.Int[0, 9999]);

    /// <summary>
    /// In-order streams: each lead identifies first (by user id) or, when its bit of the mask is set, browses
    /// anonymously and then identifies with both ids (no merge: the user id is new). Then page and track
    /// messages, by user id (or by both ids, or by the anonymous id alone, for the anonymous-first leads), and
    /// identifies that change traits or remove one with a null. Timestamps never go back; ties are ordered by
    /// message id.
    /// </summary>
    public static readonly Gen<FlatCase> Stream =
        Gen.Select(Step.Array[1, 120], Gen.Int[0, 63], Gen.Int[0, 3]).Select(x => Build(x.Item1, x.Item2, x.Item3, looseStart: false));

    /// <summary>As <see cref="Stream"/>, 300 to 700 messages long: longer than the batch apply's look-ahead chunk (256).</summary>
    public static readonly Gen<FlatCase> LongStream =
        Gen.Select(Step.Array[300, 700], Gen.Int[0, 63], Gen.Int[0, 3]).Select(x => Build(x.Item1, x.Item2, x.Item3, looseStart: false));

    /// <summary>
    /// As <see cref="LongStream"/>, but at most a day between two messages: a lead's limit windows (30 days) fill, so the
    /// times they hold decide awards (replays from a replay point must carry them).
    /// </summary>
    public static readonly Gen<FlatCase> DenseLongStream =
        Gen.Select(Gen.Select(Gen.Int[0, 5], Gen.Int[0, 99], Gen.Int[0, 4], Gen.Int[0, 9999]).Array[300, 700], Gen.Int[0, 63], Gen.Int[0, 3])
            .Select(x => Build(x.Item1, x.Item2, x.Item3, looseStart: false));

    /// <summary>
    /// As <see cref="Stream"/>, but a lead may also start with page and track messages by its user id before any
    /// identify, or identify without traits.
    /// </summary>
    public static readonly Gen<FlatCase> StreamActingBeforeIdentify =
        Gen.Select(Step.Array[1, 120], Gen.Int[0, 63], Gen.Int[0, 3]).Select(x => Build(x.Item1, x.Item2, x.Item3, looseStart: true));

    private static readonly long[] Delays =
    [
        0, TimeSpan.FromMilliseconds(123).Ticks, TimeSpan.FromMinutes(1).Ticks, TimeSpan.FromHours(1).Ticks,
        TimeSpan.FromDays(1).Ticks, TimeSpan.FromDays(6).Ticks, TimeSpan.FromDays(13).Ticks + 1,
    ];

    private static FlatCase Build((int Lead, int Action, int Delay, int Variant)[] steps, int anonymousMask, int asOfKind, bool looseStart)
    {
        var messages = new List<LeadMessage>();
        var started = new bool[6];
        var identified = new bool[6];
        long t = Start.UtcTicks;
        for (int i = 0; i < steps.Length; i++)
        {
            var (lead, action, delay, variant) = steps[i];
            t += Delays[delay];
            string id = $"m-{i:D4}";
            string user = $"u-{lead}", anon = $"a-{lead}";
            bool anonymousFirst = (anonymousMask & (1 << lead)) != 0;
            LeadMessage m;
            if (!started[lead] && !anonymousFirst)
            {
                m = !looseStart ? Identify(id, user, null, t, Traits(variant, full: true)) : (variant % 3) switch
                {
                    0 => Activity(id, user, null, t, action, variant),
                    1 => Identify(id, user, null, t, null),
                    _ => Identify(id, user, null, t, Traits(variant, full: true)),
                };
                identified[lead] = true;
            }
            else if (anonymousFirst && !identified[lead])
            {
                if (started[lead] && action < 30)
                {
                    m = Identify(id, user, anon, t, looseStart && variant % 3 == 1 ? null : Traits(variant, full: true));
                    identified[lead] = true;
                }
                else
                {
                    m = Activity(id, null, anon, t, action, variant);
                }
            }
            else if (action < 12)
            {
                m = Identify(id, user, anonymousFirst && variant % 3 == 0 ? anon : null, t, Traits(variant, full: false));
            }
            else
            {
                // Mostly by user id; the anonymous-first leads also by both ids, or by the anonymous id alone.
                (string? u, string? a) = !anonymousFirst ? (user, null) : (variant % 5) switch
                {
                    0 => (user, anon),
                    1 => (null, anon),
                    _ => (user, (string?)null),
                };
                m = Activity(id, u, a, t, action, variant);
            }

            started[lead] = true;
            messages.Add(m);
        }

        long asOf = asOfKind switch
        {
            0 => t,
            1 => t + TimeSpan.FromHours(5).Ticks,
            _ => t + TimeSpan.FromDays(40).Ticks,
        };
        messages.Sort(MessageOrder.Instance);
        return new FlatCase(messages, new DateTimeOffset(asOf, TimeSpan.Zero));
    }

    private static Dictionary<string, object?> Traits(int variant, bool full)
    {
        var traits = new Dictionary<string, object?>();
        int v = variant;
        void Maybe(string key, object? value)
        {
            // Full: every trait. Otherwise each key is left out, changed, or (one time in four) removed with null.
            int pick = v % 4;
            v /= 4;
            if (full)
            {
                traits[key] = value;
            }
            else if (pick == 1)
            {
                traits[key] = value;
            }
            else if (pick == 2)
            {
                traits[key] = null;
            }
        }

        Maybe("jobTitle", Titles[variant % Titles.Length]);
        Maybe("companySize", Sizes[variant / 7 % Sizes.Length]);
        Maybe("industry", Industries[variant / 3 % Industries.Length]);
        Maybe("emailDomain", Domains[variant / 11 % Domains.Length]);
        Maybe("country", Countries[variant / 13 % Countries.Length]);
        return traits;
    }

    private static LeadMessage Activity(string id, string? user, string? anon, long t, int action, int variant)
    {
        string? source = Sources[variant / 17 % Sources.Length];
        var context = source is null ? null : DataValue.FromObject(new Dictionary<string, object?>
        {
            ["source"] = source,
            ["campaign"] = new Dictionary<string, object?> { ["source"] = source },
            ["ip"] = "10.0.0.1",
        });
        if (action < 60)
        {
            object? url = Urls[variant % Urls.Length];
            var properties = variant % 23 == 0 ? null : new Dictionary<string, object?> { ["title"] = "Page", ["referrer"] = "https://search.example/" };
            if (properties is not null && (url is not null || variant % 2 == 0))
            {
                properties["url"] = url;
            }

            return new LeadMessage(MessageType.Page, id, user, anon, t, null, variant % 4 == 0 ? "Docs" : null, null, null,
                DataValue.FromObject(properties), context, null);
        }

        string name = Events[variant % Events.Length];
        string? format = Formats[variant / 5 % Formats.Length];
        var props = new Dictionary<string, object?> { ["emailId"] = $"e{variant % 3}" };
        if (format is not null)
        {
            props["format"] = format;
        }

        return new LeadMessage(MessageType.Track, id, user, anon, t, name, null, null, null, DataValue.FromObject(props), context, null);
    }

    public static LeadMessage Identify(string id, string user, string? anon, long t, Dictionary<string, object?>? traits) =>
        new(MessageType.Identify, id, user, anon, t, null, null, null, null, null, null, DataValue.FromObject(traits));
}
