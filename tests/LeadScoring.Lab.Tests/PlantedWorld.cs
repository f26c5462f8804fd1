using System.Globalization;
using System.Text;
using LeadScoring.Model;

namespace LeadScoring.Lab.Tests;

/// <summary>
/// A synthetic world with a known truth: leads whose conversion follows a planted points table through a logistic
/// link (20 points double the odds), with a seed. Lead i is in the training file when i % 8 &lt; 5, else held out.
/// </summary>
public sealed class PlantedWorld
{
    public static readonly DateTimeOffset AsOf = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    public const string Outcome = "Opportunity Won";

    /// <summary>The planted truth: rule id to points. Two rules carry nothing (0 points): the fit must find that.</summary>
    public static readonly (string Id, double Points, string Json)[] Rules =
    [
        ("title-vp", 45, """{ "id": "title-vp", "score": "fit", "points": P, "when": { "field": "traits.title", "op": "eq", "value": "VP" } }"""),
        ("title-director", 30, """{ "id": "title-director", "score": "fit", "points": P, "when": { "field": "traits.title", "op": "eq", "value": "Director" } }"""),
        ("title-student", -40, """{ "id": "title-student", "score": "fit", "points": P, "when": { "field": "traits.title", "op": "eq", "value": "Student" } }"""),
        ("industry-software", 20, """{ "id": "industry-software", "score": "fit", "points": P, "when": { "field": "traits.industry", "op": "eq", "value": "software" } }"""),
        ("size-mid", 25, """{ "id": "size-mid", "score": "fit", "points": P, "when": { "field": "traits.employees", "op": "between", "value": [200, 5000] } }"""),
        ("country-us", 0, """{ "id": "country-us", "score": "fit", "points": P, "when": { "field": "traits.country", "op": "eq", "value": "US" } }"""),
        ("demo", 60, """{ "id": "demo", "score": "engagement", "points": P, "on": "Demo Requested", "limit": { "count": 1 } }"""),
        ("webinar", 15, """{ "id": "webinar", "score": "engagement", "points": P, "on": "Webinar Attended", "limit": { "count": 1 } }"""),
        ("pricing", 35, """{ "id": "pricing", "score": "engagement", "points": P, "on": "$page", "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" }, "limit": { "count": 1 } }"""),
        ("blog", 5, """{ "id": "blog", "score": "engagement", "points": P, "on": "$page", "when": { "field": "properties.path", "op": "startsWith", "value": "/blog" }, "limit": { "count": 1 } }"""),
        ("newsletter", 0, """{ "id": "newsletter", "score": "engagement", "points": P, "on": "Newsletter Opened", "limit": { "count": 1 } }"""),
        ("unsubscribed", -50, """{ "id": "unsubscribed", "score": "engagement", "points": P, "on": "Unsubscribed", "limit": { "count": 1 } }"""),
    ];

    public PlantedWorld(string directory, int leads = 8000, int seed = 20261201)
    {
        Directory.CreateDirectory(directory);
        PlantedModelPath = Path.Combine(directory, "planted.json");
        CandidatesPath = Path.Combine(directory, "candidates.json");
        TrainPath = Path.Combine(directory, "train.jsonl");
        HeldOutPath = Path.Combine(directory, "heldout.jsonl");
        File.WriteAllText(PlantedModelPath, ModelJson(Rules.Select(r => r.Points).ToArray()));
        File.WriteAllText(CandidatesPath, ModelJson(Rules.Select(_ => 0.0).ToArray()));

        var rng = new Random(seed);
        var people = Enumerable.Range(0, leads).Select(i => Person.Draw(i, rng)).ToList();
        // Calibrate the intercept so that about 10% of leads convert.
        double Mean(double b) => people.Average(p => 1 / (1 + Math.Exp(-(b + (Math.Log(2) / 20 * p.PlantedScore)))));
        double lo = -20, hi = 20;
        for (int k = 0; k < 100; k++)
        {
            double mid = (lo + hi) / 2;
            if (Mean(mid) > 0.10)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        Intercept = (lo + hi) / 2;
        var train = new StringBuilder();
        var held = new StringBuilder();
        foreach (var p in people)
        {
            double prob = 1 / (1 + Math.Exp(-(Intercept + (Math.Log(2) / 20 * p.PlantedScore))));
            bool converts = rng.NextDouble() < prob;
            bool before = rng.NextDouble() < 0.01;
            p.Write(p.Index % 8 < 5 ? train : held, rng, converts, before);
        }

        File.WriteAllText(TrainPath, train.ToString());
        File.WriteAllText(HeldOutPath, held.ToString());
    }

    public string PlantedModelPath { get; }

    public string CandidatesPath { get; }

    public string TrainPath { get; }

    public string HeldOutPath { get; }

    public double Intercept { get; }

    public static string ModelJson(double[] points)
    {
        var rules = Rules.Select((r, i) => r.Json.Replace("\"points\": P", "\"points\": " + points[i].ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        return $$"""
            {
              "name": "planted",
              "version": "1",
              "scores": [
                { "name": "fit" },
                { "name": "engagement" },
                { "name": "total", "sum": { "fit": 1, "engagement": 1 } }
              ],
              "rules": [
                {{string.Join(",\n    ", rules)}}
              ],
              "outcome": { "event": "{{Outcome}}", "withinDays": 90 }
            }
            """;
    }

    private sealed class Person
    {
        public int Index;
        public string Title = "";
        public string Industry = "";
        public int Employees;
        public string Country = "";
        public int Demo, Webinar, Pricing, Blog, Newsletter, Unsub;
        public double PlantedScore;

        public static Person Draw(int index, Random rng)
        {
            var p = new Person { Index = index };
            double t = rng.NextDouble();
            p.Title = t < 0.10 ? "VP" : t < 0.25 ? "Director" : t < 0.50 ? "Manager" : t < 0.85 ? "Engineer" : "Student";
            double ind = rng.NextDouble();
            p.Industry = ind < 0.4 ? "software" : ind < 0.6 ? "finance" : ind < 0.8 ? "retail" : "education";
            p.Employees = (int)Math.Round(Math.Pow(10, 1 + (rng.NextDouble() * 3.7)));
            p.Country = rng.NextDouble() < 0.5 ? "US" : rng.NextDouble() < 0.5 ? "DE" : "FR";
            p.Demo = rng.NextDouble() < 0.12 ? 1 + rng.Next(2) : 0;
            p.Webinar = rng.NextDouble() < 0.25 ? 1 + rng.Next(3) : 0;
            p.Pricing = rng.NextDouble() < 0.30 ? 1 + rng.Next(3) : 0;
            p.Blog = rng.NextDouble() < 0.50 ? 1 + rng.Next(4) : 0;
            p.Newsletter = rng.NextDouble() < 0.40 ? 1 + rng.Next(3) : 0;
            p.Unsub = rng.NextDouble() < 0.08 ? 1 : 0;
            var truth = Rules.ToDictionary(r => r.Id, r => r.Points);
            p.PlantedScore =
                (p.Title == "VP" ? truth["title-vp"] : 0) + (p.Title == "Director" ? truth["title-director"] : 0) + (p.Title == "Student" ? truth["title-student"] : 0) +
                (p.Industry == "software" ? truth["industry-software"] : 0) + (p.Employees is >= 200 and <= 5000 ? truth["size-mid"] : 0) +
                (p.Country == "US" ? truth["country-us"] : 0) +
                (p.Demo > 0 ? truth["demo"] : 0) + (p.Webinar > 0 ? truth["webinar"] : 0) + (p.Pricing > 0 ? truth["pricing"] : 0) +
                (p.Blog > 0 ? truth["blog"] : 0) + (p.Newsletter > 0 ? truth["newsletter"] : 0) + (p.Unsub > 0 ? truth["unsubscribed"] : 0);
            return p;
        }

        public void Write(StringBuilder sb, Random rng, bool converts, bool before)
        {
            string id = $"lead-{Index:D5}";
            int seq = 0;
            string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            DateTimeOffset Past() => AsOf.AddSeconds(-rng.Next(60, 60 * 86400));
            void Line(string json) => sb.Append(json).Append('\n');
            string Mid() => $"{id}-{seq++}";
            Line($$$"""{"type":"identify","messageId":"{{{Mid()}}}","userId":"{{{id}}}","timestamp":"{{{Ts(AsOf.AddDays(-61))}}}","traits":{"title":"{{{Title}}}","industry":"{{{Industry}}}","employees":{{{Employees}}},"country":"{{{Country}}}"}}""");
            void Track(string name, int times)
            {
                for (int k = 0; k < times; k++)
                {
                    Line($$"""{"type":"track","messageId":"{{Mid()}}","userId":"{{id}}","timestamp":"{{Ts(Past())}}","event":"{{name}}"}""");
                }
            }

            void Page(string path, int times)
            {
                for (int k = 0; k < times; k++)
                {
                    Line($$$"""{"type":"page","messageId":"{{{Mid()}}}","userId":"{{{id}}}","timestamp":"{{{Ts(Past())}}}","properties":{"path":"{{{path}}}"}}""");
                }
            }

            Track("Demo Requested", Demo);
            Track("Webinar Attended", Webinar);
            Track("Newsletter Opened", Newsletter);
            Track("Unsubscribed", Unsub);
            Page("/pricing", Pricing);
            Page("/blog/post-" + rng.Next(20), Blog);
            Page("/", 1 + rng.Next(3));
            if (before)
            {
                Line($$"""{"type":"track","messageId":"{{Mid()}}","userId":"{{id}}","timestamp":"{{Ts(AsOf.AddDays(-5))}}","event":"{{Outcome}}"}""");
            }
            else if (converts)
            {
                Line($$"""{"type":"track","messageId":"{{Mid()}}","userId":"{{id}}","timestamp":"{{Ts(AsOf.AddSeconds(rng.Next(3600, 80 * 86400)))}}","event":"{{Outcome}}"}""");
            }
        }
    }

    public static ScoringModel Load(string path) => ScoringModelLoader.LoadFile(path).GetModelOrThrow(path);
}
