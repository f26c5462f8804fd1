using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Spec 2.3 breaks ties of equal timestamps by message id. Flat rows do not keep their latest message's id; the
/// lead's history tells it (LeadScoringEngine.LastId.cs). These streams put several messages of one lead at the same
/// instant, then change the lead's past (a copy with an earlier timestamp, a merge, an import without a journal) and
/// check, against the order the spec defines, which later messages at that instant come after the lead's latest.
/// </summary>
public sealed class LatestMessageIdTests
{
    private const string T = "2026-03-01T10:00:00Z";

    private static LeadMessage Parse(string json) =>
        MessageParser.Parse(Encoding.UTF8.GetBytes(json)).Message ?? throw new InvalidOperationException("bad test message: " + json);

    private static LeadMessage Track(string id, string user, string timestamp = T, string name = "Email Clicked") =>
        Parse($$"""{"type":"track","messageId":"{{id}}","userId":"{{user}}","event":"{{name}}","timestamp":"{{timestamp}}"}""");

    private static LeadMessage AnonymousTrack(string id, string anonymous, string timestamp = T) =>
        Parse($$"""{"type":"track","messageId":"{{id}}","anonymousId":"{{anonymous}}","event":"Email Clicked","timestamp":"{{timestamp}}"}""");

    private static LeadMessage Identify(string id, string user, string anonymous, string timestamp) =>
        Parse($$$"""{"type":"identify","messageId":"{{{id}}}","userId":"{{{user}}}","anonymousId":"{{{anonymous}}}","timestamp":"{{{timestamp}}}","traits":{"country":"US"}}""");

    private static LeadScoringEngine NewEngine(bool deferReplays, MessageHistory? history = null)
    {
        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null, DeferReplays = deferReplays }, history);
        engine.UsesFlatRows.Should().BeTrue();
        return engine;
    }

    /// <summary>Replays at once or deferred, with a history whose reads are cheap or costly.</summary>
    public static TheoryData<bool, bool> ReplayModesAndHistories => new() { { false, false }, { true, false }, { false, true }, { true, true } };

    /// <summary>The in-memory history, counting its reads, and saying its reads are costly or not (as a store-backed one would).</summary>
    private sealed class CountingHistory(bool costly) : MessageHistory
    {
        private readonly InMemoryMessageHistory _inner = new();

        public int Reads { get; private set; }

        public override bool ReadsAreCostly => costly;

        public override long Add(LeadMessage message) => _inner.Add(message);

        public override LeadMessage Get(long handle)
        {
            Reads++;
            return _inner.Get(handle);
        }

        public override void Release(long handle) => _inner.Release(handle);
    }

    /// <summary>
    /// Applies <paramref name="m"/>; with replays done at once, checks the outcome too. With replays deferred, a lead
    /// whose past changed answers from the state it had before (its replay comes later), so only results are checked.
    /// </summary>
    private static void Apply(LeadScoringEngine engine, LeadMessage m, ApplyOutcome expected, string because)
    {
        var outcome = engine.Apply(m);
        if (!engine.Options.DeferReplays)
        {
            outcome.Should().Be(expected, because);
        }
    }

    private static readonly DateTimeOffset AsOf = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(ReplayModesAndHistories))]
    public void Ties_at_the_latest_instant_are_broken_by_id_after_a_copy_moves_the_latest_message_back(bool deferReplays, bool costlyHistory)
    {
        var engine = NewEngine(deferReplays, new CountingHistory(costlyHistory));
        engine.Apply(Track("m-b", "u1")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(Track("m-a", "u1")).Should().Be(ApplyOutcome.Reordered, "m-a < m-b at the same instant");
        engine.Apply(Track("m-c", "u1")).Should().Be(ApplyOutcome.Applied, "m-c > m-b");
        engine.Evaluate("u1", AsOf)!.LatestMessageId.Should().Be("m-c");

        // A copy of m-c a second earlier: the earliest copy counts (spec 2.1), so m-b is the latest again.
        engine.Apply(Track("m-c", "u1", "2026-03-01T09:59:59Z")).Should().Be(ApplyOutcome.Reordered);
        Apply(engine, Track("m-bb", "u1"), ApplyOutcome.Applied, "m-bb > m-b, the latest once m-c moved back");
        Apply(engine, Track("m-ba", "u1"), ApplyOutcome.Reordered, "m-ba < m-bb");

        var lead = engine.Evaluate("u1", AsOf, explain: true)!;
        lead.LatestMessageId.Should().Be("m-bb");
        lead.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(5, "m-a, m-b, m-c (once), m-bb, m-ba");
    }

    [Theory]
    [MemberData(nameof(ReplayModesAndHistories))]
    public void Ties_are_broken_by_id_after_two_leads_with_history_merge(bool deferReplays, bool costlyHistory)
    {
        var engine = NewEngine(deferReplays, new CountingHistory(costlyHistory));
        engine.Apply(Track("k-1", "u1")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(AnonymousTrack("k-9", "anon-1")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(Identify("k-0", "u1", "anon-1", "2026-03-01T09:00:00Z"));

        // One lead now; its latest message is k-9 (the greatest id at 10:00), which was the other lead's.
        Apply(engine, Track("k-5", "u1"), ApplyOutcome.Reordered, "k-5 < k-9");
        Apply(engine, Track("k-91", "u1"), ApplyOutcome.Applied, "k-91 > k-9");
        var lead = engine.Evaluate("anon-1", AsOf, explain: true)!;
        lead.LatestMessageId.Should().Be("k-91");
        lead.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(4);
    }

    /// <summary>
    /// A history whose reads are costly (a store's message log) is not read for the latest id: each flat row keeps it.
    /// In-order messages with ties, evaluations and exports of every lead then read nothing, with the same results.
    /// </summary>
    [Fact]
    public void With_a_costly_history_in_order_ties_evaluations_and_exports_read_nothing_back()
    {
        var cheap = new CountingHistory(costly: false);
        var costly = new CountingHistory(costly: true);
        var engines = new[] { NewEngine(false, cheap), NewEngine(false, costly) };
        foreach (var engine in engines)
        {
            for (int lead = 0; lead < 20; lead++)
            {
                foreach (var id in new[] { "a", "c", "e" })
                {
                    engine.Apply(Track($"{id}-{lead}", $"u{lead}")).Should().Be(ApplyOutcome.Applied);
                }
            }

            // Ties at each lead's latest instant, on leads other than the last one touched.
            for (int lead = 0; lead < 20; lead++)
            {
                engine.Apply(Track($"b-{lead}", $"u{lead}")).Should().Be(ApplyOutcome.Reordered, "b < e at the same instant");
                engine.Apply(Track($"f-{lead}", $"u{(lead + 7) % 20}")).Should().Be(ApplyOutcome.Applied, "f > e");
            }
        }

        int readsBefore = costly.Reads, cheapBefore = cheap.Reads;
        var results = engines.Select(e => e.LeadIds().Select(id => (e.Evaluate(id, AsOf)!.LatestMessageId, e.ExportLeadState(id)!.State.ToArray())).ToList()).ToList();
        results[1].Select(r => r.LatestMessageId).Should().Equal(results[0].Select(r => r.LatestMessageId));
        results[1].Select(r => Convert.ToHexString(r.Item2)).Should().Equal(results[0].Select(r => Convert.ToHexString(r.Item2)));
        costly.Reads.Should().Be(readsBefore, "the rows keep their latest ids");
        cheap.Reads.Should().BeGreaterThan(cheapBefore, "without it the latest id is read back from the history");
    }

    [Fact]
    public void An_imported_state_without_its_journal_keeps_its_latest_id()
    {
        var first = NewEngine(deferReplays: false);
        first.Apply(Track("j-2", "u1"));
        first.Apply(Track("j-7", "u1"));
        var snapshot = first.ExportLeadState("u1")!;
        snapshot.Journal.Should().BeEmpty();

        var second = NewEngine(deferReplays: false);
        second.ImportLead(snapshot);
        second.Apply(Track("other", "u2"));   // another row takes the engine's last-id cache
        second.Evaluate("u1", AsOf)!.LatestMessageId.Should().Be("j-7");
        second.Apply(Track("j-5", "u1")).Should().Be(ApplyOutcome.Reordered, "j-5 < j-7, the imported latest");
        second.Apply(Track("j-8", "u1")).Should().Be(ApplyOutcome.Applied, "j-8 > j-7");
        second.Evaluate("u1", AsOf)!.LatestMessageId.Should().Be("j-8");
    }

    [Fact]
    public void A_tie_on_a_lead_that_is_not_the_last_one_touched_reads_the_id_from_the_history()
    {
        var engine = NewEngine(deferReplays: false);
        engine.Apply(Track("x-5", "u1")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(Track("y-1", "u2")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(Track("x-3", "u1")).Should().Be(ApplyOutcome.Reordered, "x-3 < x-5");
        engine.Apply(Track("y-0", "u2")).Should().Be(ApplyOutcome.Reordered, "y-0 < y-1");
        engine.Apply(Track("x-6", "u1")).Should().Be(ApplyOutcome.Applied, "x-6 > x-5");
        engine.Evaluate("u1", AsOf)!.LatestMessageId.Should().Be("x-6");
        engine.Evaluate("u2", AsOf)!.LatestMessageId.Should().Be("y-1");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_lead_whose_only_latest_message_moved_back_still_orders_a_tie_before_its_replay(bool deferReplays)
    {
        var engine = NewEngine(deferReplays);
        engine.Apply(Track("n-1", "u1")).Should().Be(ApplyOutcome.Applied);
        engine.Apply(Track("n-1", "u1", "2026-03-01T09:00:00Z")).Should().Be(ApplyOutcome.Reordered, "an earlier copy replaces it");
        engine.Apply(Track("other", "u2"));   // another row takes the engine's last-id cache

        // No live message of u1 is at 10:00 any more; with replays deferred the lead still answers from its state
        // before the copy (latest n-1 at 10:00) until its replay.
        Apply(engine, Track("n-0", "u1"), ApplyOutcome.Applied, "after the replay the latest is n-1 at 09:00");

        var lead = engine.Evaluate("u1", AsOf, explain: true)!;
        lead.LatestMessageId.Should().Be("n-0");
        lead.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(2);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_merge_that_moves_the_survivors_latest_message_back_still_orders_a_tie_before_its_replay(bool deferReplays)
    {
        var engine = NewEngine(deferReplays);
        engine.Apply(Track("d-0", "u1", "2026-03-01T09:30:00Z"));
        engine.Apply(Track("d-1", "u1"));
        engine.Apply(AnonymousTrack("d-1", "anon-1", "2026-03-01T09:00:00Z"));   // the same message, earlier, before the link
        engine.Apply(Identify("d-link", "u1", "anon-1", "2026-03-01T08:00:00Z"));
        engine.Apply(Track("other", "u2"));   // another row takes the engine's last-id cache

        Apply(engine, Track("d-00", "u1"), ApplyOutcome.Applied, "after the merge the latest is d-0 at 09:30");

        var lead = engine.Evaluate("u1", AsOf, explain: true)!;
        lead.LatestMessageId.Should().Be("d-00");
        lead.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(3, "d-0, d-1 (once, at 09:00), d-00");
    }
}
