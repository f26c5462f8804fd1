using LeadScoring.Reference;
using LeadScoring.Tests.Reference;
using static LeadScoring.Tests.Reference.Seg;

namespace LeadScoring.Tests.Regressions;

/// <summary>
/// Issue "One engine": cases where a fast scorer disagreed with the contract (merges of leads with history, retries
/// of a message that is not the latest, limit windows across a merge). Every expected value is stated by hand here,
/// checked against the reference scorer, and the engine (through <see cref="EngineUnderTest"/>) must give the same.
/// </summary>
public class OneEngineRegressionTests
{
    private static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Day(double d) => Start.AddDays(d);

    private const string Model = """
        {
          "name": "one-engine", "version": "1",
          "scores": [ { "name": "engagement" } ],
          "rules": [
            { "id": "webinar", "score": "engagement", "points": 10, "on": "Webinar Attended", "limit": { "count": 5 } },
            { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" },
            { "id": "first-demo", "score": "engagement", "points": 5, "on": "Demo Requested", "limit": { "count": 1 } },
            { "id": "pricing", "score": "engagement", "points": 10, "on": "$page",
              "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" }, "limit": { "count": 2, "perDays": 7 } }
          ]
        }
        """;

    /// <summary>Scores with the reference and the engine; checks they agree; returns the engine's single lead.</summary>
    private static ReferenceLead ScoreOneLead(IReadOnlyList<string> lines, DateTimeOffset asOf)
    {
        var expected = ReferenceScorer.Score(Model, lines, asOf, explain: true);
        var actual = EngineUnderTest.Score(Model, lines, asOf, explain: true);

        expected.Should().ContainSingle("the reference links the ids into one lead");
        ReferenceComparison.Differences(expected, actual).Should().BeEmpty("the engine must score as the reference does:\n{0}", string.Join("\n", ReferenceScorer.Render(expected)));
        return actual.Single();
    }

    private static List<string> WebinarsOfTwoLeadsThenIdentify() =>
    [
        // The anonymous visitor: three webinars.
        Track("w-a1", Day(1), "Webinar Attended", anonymousId: "anon-1"),
        Track("w-a3", Day(3), "Webinar Attended", anonymousId: "anon-1"),
        Track("w-a5", Day(5), "Webinar Attended", anonymousId: "anon-1"),
        // The known lead: four webinars.
        Track("w-u2", Day(2), "Webinar Attended", "user-1"),
        Track("w-u4", Day(4), "Webinar Attended", "user-1"),
        Track("w-u6", Day(6), "Webinar Attended", "user-1"),
        Track("w-u8", Day(8), "Webinar Attended", "user-1"),
        // Then an identify carrying both ids: one lead with seven webinars in time order.
        Identify("id-1", Day(10), new { title = "Analyst" }, "user-1", "anon-1"),
    ];

    [Fact]
    public void Merging_two_leads_with_history_applies_the_limit_to_their_joined_history()
    {
        // Separately each lead is under the limit of 5 (3 and 4 awards). Joined, the 7 webinars in time order are
        // days 1..6 and 8: the first five are awarded, days 6 and 8 are suppressed. 50 points, not 70.
        var lead = ScoreOneLead(WebinarsOfTwoLeadsThenIdentify(), Day(20));

        lead.LeadId.Should().Be("user-1");
        lead.Score("engagement").Should().Be(50);
        lead.Contribution("webinar").Should().Be(new ReferenceContribution("webinar", "engagement", 5, 2, 50));
    }

    [Fact]
    public void Merging_two_leads_with_history_gives_the_same_result_whatever_the_arrival_order()
    {
        var lines = WebinarsOfTwoLeadsThenIdentify();
        lines.Reverse(); // the identify first: every webinar arrives after the merge, most of them late

        var lead = ScoreOneLead(lines, Day(20));

        lead.Contribution("webinar").Should().Be(new ReferenceContribution("webinar", "engagement", 5, 2, 50));
    }

    [Fact]
    public void Before_the_identify_the_two_leads_are_scored_apart()
    {
        var lines = WebinarsOfTwoLeadsThenIdentify();
        var expected = ReferenceScorer.Score(Model, lines, Day(9), explain: true);
        var actual = EngineUnderTest.Score(Model, lines, Day(9), explain: true);

        expected.Select(l => (l.LeadId, l.Score("engagement"))).Should().Equal(("anon-1", 30.0), ("user-1", 40.0));
        ReferenceComparison.Differences(expected, actual).Should().BeEmpty();
    }

    [Theory]
    [InlineData(0)] // an exact copy
    [InlineData(2)] // a copy stamped two days later (the earliest counts)
    public void A_retry_of_a_message_that_is_not_the_latest_is_neither_an_award_nor_suppressed(int retryDaysLater)
    {
        // Three demos; the retry of the second arrives after the third. Counted again it would be a 4th demo award
        // (160 points) and a 3rd suppressed first-demo; as the duplicate it is, nothing changes.
        var lines = new List<string>
        {
            Track("d-1", Day(1), "Demo Requested", "user-1"),
            Track("d-2", Day(2), "Demo Requested", "user-1"),
            Track("d-3", Day(3), "Demo Requested", "user-1"),
            Track("d-2", Day(2 + retryDaysLater), "Demo Requested", "user-1"),
        };

        var lead = ScoreOneLead(lines, Day(10));

        lead.Score("engagement").Should().Be(3 * 40 + 5);
        lead.Contribution("demo").Should().Be(new ReferenceContribution("demo", "engagement", 3, 0, 120));
        lead.Contribution("first-demo").Should().Be(new ReferenceContribution("first-demo", "engagement", 1, 2, 5));
    }

    [Fact]
    public void A_retry_stamped_earlier_than_the_first_copy_moves_the_message_to_its_earlier_time()
    {
        // d-2 first seen at day 9, then a copy at day 0.5: the copy at day 0.5 is the one that counts. It is the lead's
        // first demo (first-demo is awarded for it, d-1 is suppressed) and it is counted once, not twice.
        var lines = new List<string>
        {
            Track("d-1", Day(1), "Demo Requested", "user-1"),
            Track("d-2", Day(9), "Demo Requested", "user-1"),
            Track("d-2", Day(0.5), "Demo Requested", "user-1"),
        };

        var lead = ScoreOneLead(lines, Day(10));

        lead.Contribution("demo").Should().Be(new ReferenceContribution("demo", "engagement", 2, 0, 80));
        lead.Contribution("first-demo").Should().Be(new ReferenceContribution("first-demo", "engagement", 1, 1, 5));
        lead.Score("engagement").Should().Be(85);
    }

    [Fact]
    public void Two_leads_with_awards_in_one_limit_window_merge_without_exceeding_the_limit()
    {
        // pricing: at most 2 awards in any 7 days. Each lead alone has 2 awards in the window; joined, the views at
        // day 1 10:00 (anon) and day 1 12:00 (user) are awarded, day 2 (anon) and day 3 (user) are suppressed. The view
        // at day 9 10:00 is awarded again: the day-1 awards left the window (day 2 10:00, day 9 10:00].
        var lines = new List<string>
        {
            Page("p-a1", Day(1).AddHours(10), "/pricing", anonymousId: "anon-1"),
            Page("p-a2", Day(2).AddHours(10), "/pricing/enterprise", anonymousId: "anon-1"),
            Page("p-u1", Day(1).AddHours(12), "/pricing", "user-1"),
            Page("p-u3", Day(3).AddHours(10), "/pricing", "user-1"),
            Alias("alias-1", Day(5), "user-1", "anon-1"),
            Page("p-u9", Day(9).AddHours(10), "/pricing", "user-1"),
        };

        var lead = ScoreOneLead(lines, Day(12));

        lead.LeadId.Should().Be("user-1");
        lead.Contribution("pricing").Should().Be(new ReferenceContribution("pricing", "engagement", 3, 2, 30));
        lead.Score("engagement").Should().Be(30);
    }

    /// <summary>
    /// A lead with a long history (its copies are looked up in the index's table) and one with a short history (its
    /// list is walked) hold copies of each other's messages; they are linked, in several arrival orders.
    /// </summary>
    private static List<string> LongAndShortHistoriesWithCopies()
    {
        var lines = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            lines.Add(Track($"d-{i}", Day(1).AddHours(i), "Demo Requested", "user-1"));
        }

        // Retries of early messages, long after them: duplicates, not new demos.
        lines.Add(Track("d-0", Day(1), "Demo Requested", "user-1"));
        lines.Add(Track("d-5", Day(1).AddHours(5), "Demo Requested", "user-1"));
        lines.Add(Track("d-17", Day(1).AddHours(17), "Demo Requested", "user-1"));
        for (int i = 0; i < 10; i++)
        {
            lines.Add(Track($"a-{i}", Day(3).AddHours(i), "Demo Requested", anonymousId: "anon-1"));
        }

        // The anonymous visitor's copies of three of the known lead's messages (the same ids, sent from the browser).
        lines.Add(Track("d-1", Day(1).AddHours(1), "Demo Requested", anonymousId: "anon-1"));
        lines.Add(Track("d-2", Day(1).AddHours(2), "Demo Requested", anonymousId: "anon-1"));
        lines.Add(Track("d-39", Day(1).AddHours(39), "Demo Requested", anonymousId: "anon-1"));
        lines.Add(Identify("link", Day(5), new { title = "Analyst" }, "user-1", "anon-1"));
        return lines;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Copies_of_any_earlier_message_are_duplicates_in_long_and_short_histories_and_across_a_merge(int order)
    {
        // 40 + 10 distinct demos: 50 × 40 points, plus the first demo's 5 (its limit of 1 suppresses 49).
        var lines = LongAndShortHistoriesWithCopies();
        if (order == 1)
        {
            lines.Reverse();
        }
        else if (order > 1)
        {
            var random = new Random(order);
            lines = [.. lines.OrderBy(_ => random.Next())];
        }

        var lead = ScoreOneLead(lines, Day(10));

        lead.Contribution("demo").Should().Be(new ReferenceContribution("demo", "engagement", 50, 0, 2000));
        lead.Contribution("first-demo").Should().Be(new ReferenceContribution("first-demo", "engagement", 1, 49, 5));
        lead.Score("engagement").Should().Be(2005);
    }
}
