using System.Globalization;
using System.Text.Json.Nodes;
using CsCheck;
using LeadScoring.Tests.Shared;

namespace LeadScoring.Tests.Properties;

/// <summary>A model, a set of message lines in arrival order, and the as-of time: one input of the command-line tool.</summary>
internal sealed record ScoringCase(string ModelName, string Model, IReadOnlyList<string> Lines, DateTimeOffset AsOf)
{
    public override string ToString() =>
        $"model {ModelName}, as of {AsOf.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}, {Lines.Count} lines:\n" + string.Join("\n", Lines) +
        (ModelName.StartsWith("generated", StringComparison.Ordinal) ? "\nmodel:\n" + Model : "");
}

/// <summary>
/// Generates whole inputs for the reference-versus-engine properties: models of several shapes and message sets
/// with every hard case of contract 2 (any arrival order, retries with the same or another timestamp, late
/// messages, merges of two leads that both have history, accounts whose traits change over time).
/// </summary>
internal static class ReferenceGen
{
    public static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private const int SpanQuarterHours = 40 * 24 * 4;

    private static readonly string[] Events =
    [
        "Demo Requested", "demo requested", "Email Opened", "Unsubscribed", "Sales Accepted", "Sales Rejected", "Deal Won",
        "Email Clicked", "Link Clicked", "Webinar Attended", "Content Downloaded", "Feature Used", "Form Submitted",
        "Quote Requested", "Signed Up", "A", "B", "c",
    ];

    private static readonly string[] Paths = ["/pricing", "/Pricing/enterprise", "/docs/api", "/guides/start", "/careers", "/blog/x", "/"];
    private static readonly string?[] Titles = ["VP of Sales", "Director of IT", "Software Engineer", "Student", "Chief Marketing Officer", "Head of Ops", null];
    private static readonly object?[] Plans = ["pro", "Pro", "free", 1, "1", null];

    /// <summary>The contract's example model, the sample model, or a small generated one; all with the given stage clock.</summary>
    public static Gen<(string Name, string Json)> Models(Gen<int> stageCheckHours) =>
        Gen.Select(Gen.Int[0, 3], stageCheckHours, GeneratedModel).Select(x => x.Item1 switch
        {
            0 => ("contract-example", WithClock(SpecDocuments.ExampleModel, x.Item2)),
            1 => ("sample", WithClock(File.ReadAllText(TestData.SamplePath("model.json")), x.Item2)),
            _ => ("generated", WithClock(x.Item3, x.Item2)),
        });

    public static string WithClock(string modelJson, int stageCheckHours)
    {
        var root = JsonNode.Parse(modelJson)!.AsObject();
        root["stageCheckHours"] = stageCheckHours;
        return root.ToJsonString();
    }

    /// <summary>A small model from templates: each rule in or out, with its points, limit, after, decay and clamps drawn.</summary>
    public static readonly Gen<string> GeneratedModel =
        Gen.Select(Gen.Int[1, 1023], Gen.Int[-5, 20].Array[10], Gen.Int[0, 5].Array[10], Gen.Int[0, 2])
            .Select(x => BuildModel(x.Item1, x.Item2, x.Item3, x.Item4));

    private static string BuildModel(int mask, int[] points, int[] knobs, int shape)
    {
        string P(int i) => points[i].ToString(CultureInfo.InvariantCulture);
        string Limit(int i) => knobs[i] switch
        {
            0 => "",
            1 => """, "limit": { "count": 1 }""",
            2 => """, "limit": { "count": 2, "perDays": 1 }""",
            3 => """, "limit": { "count": 1, "perDays": 7, "per": "properties.plan" }""",
            4 => """, "limit": { "count": 2, "per": "properties.plan" }""",
            _ => """, "limit": { "count": 3, "perDays": 30 }""",
        };
        string Extra(int i) => knobs[(i + 3) % 10] switch
        {
            0 => """, "after": { "count": 2, "withinDays": 1 }""",
            1 => """, "expiresAfterDays": 5""",
            2 => """, "halfLifeDays": 3, "maxPoints": 25""",
            3 => """, "minPoints": -4, "maxPoints": 12""",
            _ => "",
        };

        var rules = new List<string>
        {
            $$"""{ "id": "r0", "score": "engagement", "points": {{P(0)}}, "on": "A"{{Limit(0)}}{{Extra(0)}} }""",
            $$"""{ "id": "r1", "score": "engagement", "points": {{P(1)}}, "on": "$page", "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" }{{Limit(1)}}{{Extra(1)}} }""",
            $$"""{ "id": "r2", "score": "engagement", "points": {{P(2)}}, "on": ["B", "C"]{{Limit(2)}}{{Extra(2)}} }""",
            $$"""{ "id": "r3", "score": "fit", "points": {{P(3)}}, "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Chief"] } }""",
            $$"""{ "id": "r4", "score": "fit", "points": {{P(4)}}, "when": { "field": "account.industry", "op": "eq", "value": "software" } }""",
            $$"""{ "id": "r5", "score": "engagement", "points": {{P(5)}}, "when": { "occurred": ["A", "Demo Requested"], "withinDays": 3 } }""",
            $$"""{ "id": "r6", "score": "engagement", "points": {{P(6)}}, "on": "B", "when": { "field": "persona", "op": "eq", "value": "buyer" }{{Limit(6)}}{{Extra(6)}} }""",
            $$"""{ "id": "r7", "score": "engagement", "points": {{P(7)}}, "on": "Email Opened", "when": { "field": "properties.seats", "op": "between", "value": [5, 40] }{{Limit(7)}}{{Extra(7)}} }""",
            $$"""{ "id": "r8", "score": "fit", "points": {{P(8)}}, "when": { "any": [ { "field": "traits.employees", "op": "gte", "value": 1000 }, { "field": "traits.email", "op": "endsWith", "value": "@corp.example" } ] } }""",
            $$"""{ "id": "r9", "score": "engagement", "points": {{P(9)}}, "on": "c", "when": { "not": { "field": "context.campaign.source", "op": "in", "value": ["google"] } }{{Limit(9)}}{{Extra(9)}} }""",
        };
        var chosen = rules.Where((_, i) => (mask & (1 << i)) != 0).ToList();
        string halfLife = shape switch { 0 => "", 1 => """, "halfLifeDays": 5""", _ => """, "halfLifeDays": 30""" };
        string stages = shape == 2
            ? """
              [ { "name": "lead" },
                { "name": "mql", "enter": { "all": [ { "field": "scores.fit", "op": "gte", "value": 5 }, { "field": "scores.engagement", "op": "gte", "value": 15 } ] },
                  "exit": { "field": "scores.engagement", "op": "lt", "value": 8 } },
                { "name": "sql", "enter": { "occurred": "Sales Accepted", "withinDays": 5 }, "exit": { "not": { "occurred": "Sales Accepted", "withinDays": 5 } } },
                { "name": "customer", "enter": { "all": [ { "field": "stage", "op": "eq", "value": "sql" }, { "occurred": "Deal Won" } ] } } ]
              """
            : """
              [ { "name": "lead" },
                { "name": "mql", "enter": { "any": [ { "field": "scores.total", "op": "gte", "value": 20 }, { "field": "grade", "op": "eq", "value": "A" } ] },
                  "exit": { "all": [ { "field": "scores.total", "op": "lt", "value": 12 }, { "field": "persona", "op": "ne", "value": "buyer" } ] } },
                { "name": "sql", "enter": { "occurred": "Sales Accepted", "withinDays": 2 } } ]
              """;
        return $$"""
            {
              "name": "generated-{{mask}}", "version": "1",
              "scores": [
                { "name": "fit", "min": 0, "max": 40 },
                { "name": "engagement", "min": -10, "max": 60{{halfLife}} },
                { "name": "total", "sum": { "fit": 1, "engagement": 0.5 } }
              ],
              "rules": [ {{string.Join(",\n", chosen)}} ],
              "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 20 }, { "grade": "B", "min": 5 }, { "grade": "C" } ] },
              "personas": [
                { "name": "buyer", "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Chief"] } },
                { "name": "member", "when": { "field": "account.industry", "op": "exists" } }
              ],
              "stages": {{stages}}
            }
            """;
    }

    /// <summary>One message's shape, drawn as numbers; built into JSON by <see cref="Build"/>.</summary>
    private static readonly Gen<(int Kind, int Lead, int Quarter, int Variant, int Ids)> Shape =
        Gen.Select(Gen.Int[0, 10], Gen.Int[0, 3], Gen.Int[0, SpanQuarterHours], Gen.Int[0, 999], Gen.Int[0, 5]);

    /// <summary>
    /// A message set in arrival order: base messages, retries of any of them (same content; the same, a later or an
    /// earlier timestamp), shuffled; and an as-of time after everything, inside the span, or at a message's instant.
    /// </summary>
    public static readonly Gen<(List<string> Lines, DateTimeOffset AsOf)> Messages =
        Gen.Select(Shape.Array[1, 50], Gen.Int[0, 1000].Array[0, 8], Gen.Int[-3, 3], Gen.Int, Gen.Int[0, 3])
            .Select(x =>
            {
                var shapes = x.Item1;
                var messages = shapes.Select((s, i) => Build(i, s)).ToList();
                int count = messages.Count;
                foreach (int r in x.Item2)
                {
                    var (node, ts) = messages[r % count];
                    var copy = node.DeepClone().AsObject();
                    if (r % 5 == 4)
                    {
                        // Another message reusing this one's id (different content, maybe another lead): after a merge
                        // only the earliest of the two counts. One minute off the quarter-hour grid, so never a tie.
                        var (other, otherTs) = messages[r / 5 % count];
                        copy = other.DeepClone().AsObject();
                        copy["messageId"] = node["messageId"]!.GetValue<string>();
                        ts = otherTs.AddMinutes(1);
                    }

                    // A retry: the same content at the same time, or some hours later or earlier (the earliest counts).
                    var shifted = ts.AddHours(r % 2 == 0 ? 0 : x.Item3 * 5);
                    copy["timestamp"] = Time(shifted);
                    messages.Add((copy, shifted));
                }

                var lines = messages.Select(m => m.Node.ToJsonString()).ToList();
                var random = new Random(x.Item4);
                for (int i = lines.Count - 1; i > 0; i--)
                {
                    int j = random.Next(i + 1);
                    (lines[i], lines[j]) = (lines[j], lines[i]);
                }

                var asOf = x.Item5 switch
                {
                    0 => Start.AddDays(45),
                    1 => Start.AddDays(20).AddMinutes(7),
                    2 => messages[(x.Item4 & 0xFFFF) % messages.Count].Timestamp,
                    _ => Start.AddDays(41),
                };
                return (lines, asOf);
            });

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Four people: u{i} with anonymous id a{i}. Ids: user only, anonymous only, both (one person), or a cross link
    /// (u{i} with a{i+1}, or an alias u{i} &lt;- u{i+1}) that merges two leads which both have history.
    /// </summary>
    private static (JsonObject Node, DateTimeOffset Timestamp) Build(int index, (int Kind, int Lead, int Quarter, int Variant, int Ids) s)
    {
        int v = s.Variant;
        // Some messages land on whole days, others on quarter hours: ties between messages and with clock ticks.
        var ts = Start.AddMinutes((v % 5 == 0 ? s.Quarter / 96 * 96 : s.Quarter) * 15);
        string user = $"u{s.Lead}", anon = $"a{s.Lead}";
        var o = new JsonObject { ["messageId"] = $"m{index:D3}", ["timestamp"] = Time(ts) };
        switch (s.Ids)
        {
            case 0:
            case 1:
                o["userId"] = user;
                break;
            case 2:
                o["anonymousId"] = anon;
                break;
            case 3:
                o["userId"] = user;
                o["anonymousId"] = anon;
                break;
            default:
                o["userId"] = user;
                o["anonymousId"] = $"a{(s.Lead + 1) % 4}";
                break;
        }

        switch (s.Kind)
        {
            case 0:
                o["type"] = "identify";
                var traits = new JsonObject
                {
                    ["title"] = Titles[v % Titles.Length],
                    ["employees"] = v % 4 == 0 ? JsonValue.Create((v * 37 % 60 * 100).ToString(CultureInfo.InvariantCulture)) : JsonValue.Create(v * 37 % 60 * 100),
                };
                if (v % 3 != 0)
                {
                    traits["email"] = v % 2 == 0 ? $"x{v}@gmail.com" : $"x{v}@corp.example";
                }

                if (v % 7 == 0)
                {
                    traits["country"] = "US";
                    traits["phone"] = "+1 415 555 0100";
                    traits["company"] = "Acme";
                }

                o["traits"] = traits;
                break;
            case 1:
                o["type"] = "group";
                o["groupId"] = $"acct-{v % 3}";
                o["traits"] = new JsonObject { ["industry"] = (v / 3 % 4) switch { 0 => "software", 1 => "Software", 2 => "retail", _ => null } };
                break;
            case 2:
                // An alias: this lead's user id takes over another lead's anonymous or user id.
                o.Remove("anonymousId");
                o["type"] = "alias";
                o["userId"] = user;
                o["previousId"] = v % 2 == 0 ? anon : $"u{(s.Lead + 1) % 4}";
                break;
            case 10:
                // Messages that must change nothing, each naming two leads' ids: an ignored type (it links no ids and
                // creates no lead), a track without event, an identify whose time has no offset (both rejected).
                o["userId"] = user;
                o["anonymousId"] = $"a{(s.Lead + 2) % 4}";
                switch (v % 3)
                {
                    case 0:
                        o["type"] = "screen";
                        o["name"] = "Home";
                        break;
                    case 1:
                        o["type"] = "track";
                        o["properties"] = new JsonObject { ["plan"] = "pro" };
                        break;
                    default:
                        o["type"] = "identify";
                        o["timestamp"] = ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
                        o["traits"] = new JsonObject { ["title"] = "VP of Nothing" };
                        break;
                }

                break;
            case 3:
            case 4:
            case 5:
                o["type"] = "page";
                o["properties"] = new JsonObject { ["path"] = Paths[v % Paths.Length], ["title"] = v % 5 == 0 ? "A Tutorial" : "Page" };
                if (v % 4 == 0)
                {
                    o["context"] = new JsonObject { ["campaign"] = new JsonObject { ["source"] = v % 8 == 0 ? "google" : "linkedin" } };
                }

                break;
            default:
                o["type"] = "track";
                o["event"] = Events[(v + s.Kind) % Events.Length];
                var properties = new JsonObject
                {
                    ["emailId"] = $"e{v % 4}",
                    ["campaign"] = v % 2 == 0 ? "product" : "newsletter",
                    ["seats"] = v % 6 == 0 ? JsonValue.Create((v % 60).ToString(CultureInfo.InvariantCulture)) : JsonValue.Create(v % 60),
                    ["feature"] = v % 3 == 0 ? "sandbox-1" : "reports",
                    ["form"] = v % 2 == 0 ? "contact-us" : "newsletter",
                    ["format"] = v % 5 == 0 ? "blog" : "pdf",
                };
                switch (Plans[v % Plans.Length])
                {
                    case string text:
                        properties["plan"] = text;
                        break;
                    case int number:
                        properties["plan"] = number;
                        break;
                }

                o["properties"] = properties;
                if (v % 4 == 1)
                {
                    o["context"] = new JsonObject { ["campaign"] = new JsonObject { ["source"] = v % 8 == 1 ? "google" : "linkedin" }, ["referrer"] = new JsonObject { ["type"] = "ad" } };
                }

                break;
        }

        return (o, ts);
    }
}
