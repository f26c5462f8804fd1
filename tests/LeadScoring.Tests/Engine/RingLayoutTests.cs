using System.Globalization;
using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;
using LeadScoring.Reference;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Flat rows keep their limit windows' times in one array, each row's times from a cache line on (row 0 is placed on a
/// line, in a pinned array, so that a row of 32 times spans two lines rather than three). The rows move when the engine
/// grows and when the times move from seconds to ticks; every lead must keep its own times through both, checked
/// against the independent reference scorer.
/// </summary>
public sealed class RingLayoutTests
{
    private const int Leads = 400; // rows grow from 64 several times
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void WindowTimes_StayWithTheirLead_AsRowsGrowAndMoveToTicks_OnCacheLines()
    {
        // Each lead views the pricing page (limit 3 per 30 days) and the docs (5 per 30 days) in turns, a day apart,
        // so every window fills, suppresses, and frees places as times leave it; leads are interleaved, so rows are
        // added (and the times copied) while earlier rows hold times. Halfway, one time has milliseconds: every row's
        // times move to ticks.
        var lines = new List<string>();
        for (int day = 0; day < 40; day++)
        {
            for (int lead = 0; lead < Leads; lead++)
            {
                if ((lead + day) % 3 == 0)
                {
                    continue;
                }

                var at = T0.AddDays(day).AddMinutes(lead);
                if (day == 20 && lead == 8)
                {
                    at = at.AddMilliseconds(250);
                }

                string url = (lead + day) % 5 == 0 ? "https://example.com/docs/a" : "https://example.com/pricing";
                lines.Add(Page($"m-{day}-{lead}", $"u{lead}", at, url));
            }
        }

        var engine = new LeadScoringEngine(CompiledModel.Compile(ScoringModelLoader.Load(FlatStreams.ModelJson).GetModelOrThrow()), new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.UsesFlatRows.Should().BeTrue();
        int grown = 0, capacity = engine.RowCapacity;
        foreach (var line in lines)
        {
            var parsed = MessageParser.Parse(Encoding.UTF8.GetBytes(line));
            engine.Apply(parsed.Message!).Should().Be(ApplyOutcome.Applied);
            if (engine.RowCapacity != capacity)
            {
                (grown, capacity) = (grown + 1, engine.RowCapacity);
                engine.RingRowsOnCacheLines.Should().BeTrue($"after the rows grew to {capacity}");
            }
        }

        grown.Should().BeGreaterThan(2, "the case must move rows that hold times");
        engine.WindowTimesAsTicks.Should().BeTrue("the case must move every row's times to ticks");
        engine.RingRowsOnCacheLines.Should().BeTrue("after the move to ticks");

        var asOf = T0.AddDays(45);
        var expected = ReferenceScorer.Score(FlatStreams.ModelJson, lines, asOf, explain: true).ToDictionary(l => l.LeadId);
        var actual = engine.EvaluateAll(asOf, explain: true).Select(r => ReferenceLead.FromJson(LeadResultJson.ToJson(r))).ToList();
        actual.Should().HaveCount(Leads);
        foreach (var lead in actual)
        {
            lead.Should().BeEquivalentTo(expected[lead.LeadId], o => o.WithStrictOrdering(), lead.LeadId);
        }

        expected.Values.Sum(l => l.Contributions!.Single(c => c.Rule == "E01_pricing_view").Suppressed).Should().BeGreaterThan(Leads, "the limits must suppress");
    }

    private static string Page(string id, string user, DateTimeOffset at, string url)
    {
        string time = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return $$$"""{"type":"page","messageId":"{{{id}}}","userId":"{{{user}}}","timestamp":"{{{time}}}","properties":{"url":"{{{url}}}"}}""";
    }
}
