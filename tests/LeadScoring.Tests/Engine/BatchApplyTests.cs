using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// <see cref="LeadScoringEngine.Apply(ReadOnlySpan{LeadMessage}, Span{ApplyOutcome})"/>: each message's outcome at its
/// index, as the contract gives it (a copy is a duplicate, a message before the lead's latest is put in its place),
/// whatever the batch's size; the rows fetched ahead are only hints. Scores are compared with the reference scorer in
/// <c>ReferencePropertiesTests</c>.
/// </summary>
public sealed class BatchApplyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private static LeadMessage Click(string id, string user, int minute) => LeadMessage.Track(id, user, "Email Clicked", T0.AddMinutes(minute));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(40)]
    public void EachMessage_GetsItsOutcome_AtItsIndex(int batch)
    {
        // 30 leads with one click each, then: a copy of lead 0's click, a late click of lead 1, a new click of lead 2.
        var messages = Enumerable.Range(0, 30).Select(l => Click($"c{l}", $"u{l}", 10)).ToList();
        messages.Add(Click("c0", "u0", 10));
        messages.Add(Click("late", "u1", 5));
        messages.Add(Click("c2-2", "u2", 20));
        var expected = Enumerable.Repeat(ApplyOutcome.Applied, 30).Append(ApplyOutcome.Duplicate).Append(ApplyOutcome.Reordered).Append(ApplyOutcome.Applied).ToArray();

        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.UsesFlatRows.Should().BeTrue();
        var outcomes = new ApplyOutcome[messages.Count];
        for (int i = 0; i < messages.Count; i += batch)
        {
            int n = Math.Min(batch, messages.Count - i);
            engine.Apply(messages.ToArray().AsSpan(i, n), outcomes.AsSpan(i, n));
        }

        outcomes.Should().Equal(expected);
        var asOf = T0.AddHours(1);
        engine.Evaluate("u1", asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(2);
        engine.Evaluate("u0", asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(1, "a copy counts once");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LeadsMadeStaleInABatch_AreReplayedOnceEach_WhenTheBatchEnds(bool oneByOne)
    {
        // Four leads with two clicks each; then two late clicks of u1, one of u2, and an alias that merges u3 and u4
        // (both with history), then a click of the merged lead.
        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        var first = Enumerable.Range(1, 4).SelectMany(l => new[] { Click($"c{l}a", $"u{l}", 10), Click($"c{l}b", $"u{l}", 20) }).ToArray();
        engine.Apply(first, new ApplyOutcome[first.Length]);
        LeadMessage[] batch =
        [
            Click("late-1", "u1", 5), Click("late-2", "u1", 6), Click("late-3", "u2", 7),
            LeadMessage.Alias("link", "u3", "u4", T0.AddMinutes(30)), Click("after", "u3", 40),
        ];

        var outcomes = new ApplyOutcome[batch.Length];
        if (oneByOne)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                outcomes[i] = engine.Apply(batch[i]);
            }
        }
        else
        {
            engine.Apply(batch, outcomes);
        }

        outcomes.Should().Equal(ApplyOutcome.Reordered, ApplyOutcome.Reordered, ApplyOutcome.Reordered, ApplyOutcome.Applied, ApplyOutcome.Applied);
        engine.StaleLeadCount.Should().Be(0, "the engine's default replays stale leads at once: a batch, when it ends");
        engine.Statistics.Merges.Should().Be(1);

        // One by one, each late message and the merge replays its lead at once; a batch replays each lead it made stale
        // once, when it ends (u1 was made stale twice).
        engine.Statistics.Replays.Should().Be(oneByOne ? 4 : 3);
        var asOf = T0.AddHours(1);
        int Clicks(string user) => engine.Evaluate(user, asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards;
        Clicks("u1").Should().Be(4);
        Clicks("u2").Should().Be(3);
        Clicks("u3").Should().Be(5, "both leads' clicks and the one after the merge");
    }

    [Fact]
    public void A_BatchThatFails_LeavesItsStaleLeadsToBeReplayedWhenRead_AndLaterCallsReplayAtOnce()
    {
        // u1 is made stale by a late click; then a copy of one of u2's clicks needs the history, which fails (for u2's
        // messages only: u1 could be replayed, but a failed batch does no more work).
        var history = new FailingHistory();
        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null }, history);
        LeadMessage[] first = [Click("a1", "u1", 10), Click("a2", "u2", 10), Click("b2", "u2", 20)];
        engine.Apply(first, new ApplyOutcome[first.Length]);
        history.Fail = true;
        var act = () => engine.Apply([Click("late", "u1", 5), Click("a2", "u2", 10)], new ApplyOutcome[2]);
        act.Should().Throw<IOException>();
        engine.StaleLeadCount.Should().Be(1, "u1 was made stale before the failure, and is not replayed by a failed batch");

        history.Fail = false;
        engine.Apply(Click("late-2", "u2", 15)).Should().Be(ApplyOutcome.Reordered);
        engine.StaleLeadCount.Should().Be(1, "one by one again: u2 is replayed at once; u1 waits to be read");
        int Clicks(string user) => engine.Evaluate(user, T0.AddHours(1), explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards;
        Clicks("u1").Should().Be(2);
        Clicks("u2").Should().Be(3);
        engine.StaleLeadCount.Should().Be(0);
    }

    /// <summary>An in-memory history whose reads of u2's messages fail while <see cref="Fail"/> is set.</summary>
    private sealed class FailingHistory : MessageHistory
    {
        private readonly InMemoryMessageHistory _inner = new();

        public bool Fail { get; set; }

        public override long Add(LeadMessage message) => _inner.Add(message);

        public override LeadMessage Get(long handle) =>
            _inner.Get(handle) is { UserId: "u2" } && Fail ? throw new IOException("the history cannot be read") : _inner.Get(handle);
    }

    [Fact]
    public void TooFewPlacesForTheOutcomes_IsRefused_BeforeAnyMessageIsApplied()
    {
        var engine = new LeadScoringEngine(FlatStreams.Model);
        var act = () => engine.Apply([Click("a", "u1", 1), Click("b", "u2", 2)], new ApplyOutcome[1]);
        act.Should().Throw<ArgumentException>().WithParameterName("outcomes");
        engine.LeadCount.Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MessagesAfterAMergeInTheSameBatch_GoToTheLeadThatRemains(bool newLeadFirst)
    {
        // Two leads with history; then, in one batch, an alias makes them one lead, and clicks by the merged-away
        // lead's id follow. The batch looks every row up before applying any message: those rows are out of date.
        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.Apply([Click("c1", "u1", 1), Click("c2", "u2", 2)], new ApplyOutcome[2]);
        var batch = new List<LeadMessage>();
        if (newLeadFirst)
        {
            // A lead unknown when the batch begins, with two clicks: the second is looked up again after the first.
            batch.Add(Click("n1", "new", 3));
            batch.Add(Click("n2", "new", 4));
        }

        batch.Add(LeadMessage.Alias("link", "u1", "u2", T0.AddMinutes(5)));
        batch.Add(Click("c3", "u2", 6));
        batch.Add(Click("c4", "u2", 7));
        var outcomes = new ApplyOutcome[batch.Count];
        engine.Apply(batch.ToArray(), outcomes);

        outcomes.Should().AllSatisfy(o => o.Should().Be(ApplyOutcome.Applied));
        var asOf = T0.AddHours(1);
        engine.Evaluate("u1", asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(4, "every click of both ids is the merged lead's");
        engine.Evaluate("u2", asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(4);
        if (newLeadFirst)
        {
            engine.Evaluate("new", asOf, explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(2);
        }
    }

    [Fact]
    public void Ids_AsOtherStringObjects_FindTheirLeadAndTheirCopies()
    {
        // As a parser hands them over: every message's ids are strings of their own, never the objects the engine
        // keeps. The lead is found by content and a copy is still a copy (hashes made with the message, ids compared).
        static string Fresh(string s) => new(s.AsSpan());
        var messages = new List<LeadMessage>();
        for (int minute = 0; minute < 40; minute++)
        {
            messages.Add(Click(Fresh($"c{minute % 20}"), Fresh($"u{minute % 4}"), 10 + (minute / 20 * 100) + minute));
        }

        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        var outcomes = new ApplyOutcome[messages.Count];
        engine.Apply(messages.ToArray(), outcomes);

        engine.LeadCount.Should().Be(4);
        outcomes.Take(20).Should().AllBeEquivalentTo(ApplyOutcome.Applied);
        outcomes.Skip(20).Should().AllBeEquivalentTo(ApplyOutcome.Duplicate, "the second twenty repeat the first twenty's ids for the same leads");
        engine.Evaluate(Fresh("u1"), T0.AddDays(1), explain: true)!.Contributions.Single(c => c.Rule == "E09_email_click").Awards.Should().Be(5);
    }

    [Fact]
    public void A_Message_CarriesTheHashesOfItsIds_HoweverItIsMade()
    {
        var parsed = MessageParser.Parse("{\"type\":\"track\",\"event\":\"Email Clicked\",\"messageId\":\"m-1\",\"userId\":\"u-1\",\"timestamp\":\"2026-02-01T00:00:00Z\"}"u8).Message!;
        var made = LeadMessage.Track("m-1", "u-1", "Email Clicked", T0);
        var anonymous = MessageParser.Parse("{\"type\":\"page\",\"messageId\":\"m-2\",\"anonymousId\":\"a-1\",\"timestamp\":\"2026-02-01T00:00:00Z\"}"u8).Message!;
        foreach (var m in new[] { parsed, made })
        {
            m.IdHash.Should().Be(HistoryIndex.Hash("m-1"));
            m.UserIdHash.Should().Be(IdTable.Hash("u-1"));
        }

        anonymous.IdHash.Should().Be(HistoryIndex.Hash("m-2"));
        anonymous.UserIdHash.Should().Be(0, "it has no user id");
    }
}
