namespace LeadScoring.Tests.Shared;

/// <summary>Documents every test project uses (linked into each from tests/Shared).</summary>
internal static class SpecDocuments
{
    /// <summary>The example document of section 3 of the contract (scoring-model.md), copied verbatim.</summary>
    public const string ExampleModel = """
        {
          "name": "acme-b2b",
          "version": "2026.11.1",
          "scores": [
            { "name": "fit", "min": 0, "max": 100 },
            { "name": "engagement", "halfLifeDays": 30, "min": -50, "max": 150 },
            { "name": "total", "sum": { "fit": 1, "engagement": 1 } }
          ],
          "rules": [
            { "id": "senior-title", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Director", "Head of"] } },
            { "id": "target-size", "score": "fit", "points": 15,
              "when": { "field": "traits.employees", "op": "between", "value": [200, 5000] } },
            { "id": "free-mail", "score": "fit", "points": -10,
              "when": { "field": "traits.email", "op": "endsWithAny", "value": ["@gmail.com", "@yahoo.com"] } },
            { "id": "pricing-page", "score": "engagement", "points": 10, "on": "$page",
              "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" },
              "limit": { "count": 3, "perDays": 30 } },
            { "id": "demo-request", "score": "engagement", "points": 40, "on": "Demo Requested" },
            { "id": "email-open", "score": "engagement", "points": 1, "on": "Email Opened",
              "limit": { "count": 1, "per": "properties.emailId" }, "maxPoints": 10 },
            { "id": "binge-reader", "score": "engagement", "points": 5, "on": "$page",
              "after": { "count": 3, "withinDays": 1 }, "limit": { "count": 1, "perDays": 1 } },
            { "id": "unsubscribed", "score": "engagement", "points": -30, "on": "Unsubscribed", "limit": { "count": 1 } }
          ],
          "grade": { "score": "fit", "bands": [
            { "grade": "A", "min": 40 }, { "grade": "B", "min": 25 }, { "grade": "C", "min": 10 }, { "grade": "D" } ] },
          "personas": [
            { "name": "economic-buyer", "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Chief"] } },
            { "name": "practitioner", "when": { "field": "traits.title", "op": "exists" } }
          ],
          "stages": [
            { "name": "lead" },
            { "name": "mql", "enter": { "all": [
                { "field": "scores.fit", "op": "gte", "value": 25 },
                { "field": "scores.engagement", "op": "gte", "value": 30 } ] },
              "exit": { "field": "scores.engagement", "op": "lt", "value": 10 } },
            { "name": "sql", "enter": { "occurred": "Sales Accepted" } }
          ]
        }
        """;
}
