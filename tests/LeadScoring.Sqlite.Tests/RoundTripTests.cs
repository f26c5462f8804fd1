using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;

namespace LeadScoring.Sqlite.Tests;

/// <summary>What a commit writes reads back exactly.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static LeadStoreBatch FullBatch(LeadScoringEngine engine, List<LeadMessage> messages) => new()
    {
        Leads = [.. engine.ExportLeads()],
        Messages = messages,
        AccountMessages = engine.ExportAccountMessages(),
        History =
        [
            StoreKit.History("u1", StoreKit.T0.AddTicks(1), 40),
            StoreKit.History("u2", StoreKit.T0.AddDays(1), 5, grade: null, stage: null, messageId: null),
            new("u1", StoreKit.T0.AddDays(2), [new("fit", double.MaxValue), new("engagement", double.PositiveInfinity), new("intent", double.NaN), new("total", -123.456)], "A", "sql", "2026.11.1", "t-2"),
        ],
        DeadLetters =
        [
            new("events", "events-01.jsonl: line 3", "no 'userId' or 'anonymousId'", "{\"type\":\"track\"}", StoreKit.T0.AddSeconds(1)),
            new("http", "request 7", "not JSON", null, StoreKit.T0.AddSeconds(2)),
        ],
        Checkpoints = new Dictionary<string, string> { ["events"] = "events-01.jsonl:3", ["http"] = "7" },
        ModelVersion = "2026.11.1",
    };

    [Fact]
    public async Task Commit_RoundTripsEveryKindOfData()
    {
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        var batch = FullBatch(engine, messages);
        var snapshots = batch.Leads.ToDictionary(s => s.LeadId);
        snapshots["u1"].Journal.Should().Contain(m => m.Type == MessageType.Identify, "the journal carries traits");
        (snapshots["u1"].BaseState?.IsEmpty ?? true).Should().BeTrue("u1 has no base state (ExportLead gives an empty one)");
        snapshots["u2"].BaseState.Should().NotBeNull("u2's messages span more than the one-day horizon");
        snapshots["u2"].BaseState!.Value.IsEmpty.Should().BeFalse();
        batch.AccountMessages.Should().NotBeEmpty();

        string path = _folder.File();
        await using var store = await StoreKit.OpenAsync(path);
        await store.CommitAsync(batch, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(batch.Leads.Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        var loaded = await StoreKit.ToListAsync(store.LoadLeadsAsync(CancellationToken.None));
        loaded.Single(s => s.LeadId == "u1").Ids.Should().Equal("anon-1", "u1");
        loaded.Single(s => s.LeadId == "u2").BaseState.Should().NotBeNull();
        loaded.Single(s => s.LeadId == "u1").BaseState.Should().BeNull();
        using (var raw = StoreKit.Raw(path))
        {
            StoreKit.Scalar(raw, "SELECT group_concat(lead_id || ':' || (base_state IS NULL), ',') FROM (SELECT * FROM leads ORDER BY lead_id);").Should().Be("u1:1,u2:0");
            StoreKit.Scalar(raw, "SELECT ids FROM leads WHERE lead_id = 'u1';").Should().Be("[\"anon-1\",\"u1\"]");
            StoreKit.Scalar(raw, "SELECT journal FROM leads WHERE lead_id = 'u1';").Should().Be("", "journals are not rewritten on every commit");
        }

        // The journal comes back from the message log: every logged message of the lead's ids, which covers the journal.
        loaded.Single(s => s.LeadId == "u1").Journal.Select(m => m.ToJson())
            .Should().Contain(snapshots["u1"].Journal.Select(m => m.ToJson()));


        (await StoreKit.ToListAsync(store.LoadMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(batch.Messages.Select(m => m.ToJson()), "the log keeps commit order");
        (await StoreKit.ToListAsync(store.LoadAccountMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(batch.AccountMessages.Select(m => m.ToJson()));

        var u1 = await store.GetHistoryAsync("u1", CancellationToken.None);
        u1.Should().BeEquivalentTo(batch.History.Where(h => h.LeadId == "u1"), o => o.WithStrictOrdering());
        u1[1].Scores.Select(s => s.Key).Should().Equal("fit", "engagement", "intent", "total");
        u1[1].Scores[1].Value.Should().Be(double.PositiveInfinity);
        double.IsNaN(u1[1].Scores[2].Value).Should().BeTrue();
        u1[0].Scores[2].Value.Should().Be(0.0);
        double.IsNegative(u1[0].Scores[2].Value).Should().BeTrue("-0 keeps its sign");
        (await store.GetHistoryAsync("u2", CancellationToken.None)).Should().BeEquivalentTo(batch.History.Where(h => h.LeadId == "u2"));
        (await store.GetHistoryAsync("nobody", CancellationToken.None)).Should().BeEmpty();

        (await store.GetDeadLettersAsync(10, CancellationToken.None)).Should().Equal(batch.DeadLetters.Reverse());
        (await store.GetCheckpointAsync("events", CancellationToken.None)).Should().Be("events-01.jsonl:3");
        (await store.GetCheckpointAsync("http", CancellationToken.None)).Should().Be("7");
        (await store.GetCheckpointAsync("other", CancellationToken.None)).Should().BeNull();
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("2026.11.1");
    }

    [Fact]
    public async Task AnEngineRestoredFromTheStore_GoesOnExactlyLikeTheOriginal()
    {
        var messages = StoreKit.SampleMessages();
        int half = messages.Count / 2;
        var original = new LeadScoringEngine(StoreKit.Model);
        foreach (var m in messages.Take(half))
        {
            original.Apply(m);
        }

        await using (var store = await StoreKit.OpenAsync(_folder.File()))
        {
            // As the pipeline does: the leads, and every message applied (the log the journals are read back from).
            await store.CommitAsync(new LeadStoreBatch { Leads = [.. original.ExportLeads()], Messages = [.. messages.Take(half)], AccountMessages = original.ExportAccountMessages() }, CancellationToken.None);
        }

        var restored = new LeadScoringEngine(StoreKit.Model);
        await using (var store = await StoreKit.OpenAsync(_folder.File()))
        {
            restored.ImportAccountMessages(await StoreKit.ToListAsync(store.LoadAccountMessagesAsync(CancellationToken.None)));
            await foreach (var snapshot in store.LoadLeadsAsync(CancellationToken.None))
            {
                restored.ImportLead(snapshot);
            }
        }

        var asOf = new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
        restored.LeadCount.Should().Be(original.LeadCount);
        StoreKit.Output(restored, asOf).Should().Be(StoreKit.Output(original, asOf));
        foreach (var m in messages.Skip(half))
        {
            restored.Apply(m).Should().Be(original.Apply(m));
        }

        StoreKit.Output(restored, asOf).Should().Be(StoreKit.Output(original, asOf));
    }

    [Fact]
    public async Task AccountMessagesAddedAgain_AreStoredOnce()
    {
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        var group = messages.Single(m => m.Type == MessageType.Group);
        var reparsed = MessageParser.Parse(group.ToJson()).Message!;
        var other = LeadMessage.Group("g-2", "u2", "acct-1", StoreKit.T0.AddHours(3), new Dictionary<string, object?> { ["industry"] = "finance" });

        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(new LeadStoreBatch { AccountMessages = [group] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { AccountMessages = [reparsed, other, group] }, CancellationToken.None);

        (await StoreKit.ToListAsync(store.LoadAccountMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(group.ToJson(), other.ToJson());
    }

    [Fact]
    public async Task RemovedLeads_AreDeleted_AndALeadBothRemovedAndWritten_IsKept()
    {
        var engine = StoreKit.Engine(StoreKit.Messages());
        var u1 = engine.ExportLead("u1")!;
        var u2 = engine.ExportLead("u2")!;
        var renamed = LeadSnapshot.Create("u3", ["u3"], u2.State, u2.BaseState, u2.Journal);

        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(new LeadStoreBatch { Leads = [u1, u2] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { RemovedLeads = ["u2", "u1", "never-stored"], Leads = [renamed, u1] }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(new[] { u1, renamed }.Select(StoreKit.Describe).Order(StringComparer.Ordinal));

        await store.CommitAsync(new LeadStoreBatch { RemovedLeads = ["u1"] }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().Equal(StoreKit.Describe(renamed));
    }

    [Fact]
    public async Task ALeadWrittenAgain_IsReplaced()
    {
        var messages = StoreKit.Messages();
        var before = StoreKit.Engine(messages.Take(3)).ExportLead("u1")!;
        var after = StoreKit.Engine(messages).ExportLead("u1")!;
        StoreKit.Describe(before).Should().NotBe(StoreKit.Describe(after));

        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(new LeadStoreBatch { Leads = [before] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Leads = [after] }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(StoreKit.Describe(after));
    }

    [Fact]
    public async Task ReplaceAllLeads_ReplacesEveryStoredLead_AndKeepsTheRest()
    {
        var engine = StoreKit.Engine(StoreKit.Messages());
        var u1 = engine.ExportLead("u1")!;
        var u2 = engine.ExportLead("u2")!;
        var rescored = LeadSnapshot.Create("u9", ["u9"], u1.State, null, []);

        await using var store = await StoreKit.OpenAsync(_folder.File());
        await store.CommitAsync(FullBatch(engine, StoreKit.Messages()), CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Leads = [rescored, u2], ReplaceAllLeads = true, ModelVersion = "2027.1" }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(new[] { rescored, u2 }.Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("2027.1");
        (await StoreKit.ToListAsync(store.LoadMessagesAsync(CancellationToken.None))).Should().NotBeEmpty("re-scoring replaces leads, not the message log");
        (await store.GetHistoryAsync("u1", CancellationToken.None)).Should().HaveCount(2);

        await store.CommitAsync(new LeadStoreBatch { ReplaceAllLeads = true }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().BeEmpty();
    }

    [Fact]
    public async Task Checkpoints_AndTheModelVersion_AreOverwritten_AndKeptWhenNotGiven()
    {
        await using var store = await StoreKit.OpenAsync(_folder.File());
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().BeNull("an empty store has no model version");
        await store.CommitAsync(new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["a"] = "1", ["b"] = "1" }, ModelVersion = "v1" }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["a"] = "2" } }, CancellationToken.None);

        (await store.GetCheckpointAsync("a", CancellationToken.None)).Should().Be("2");
        (await store.GetCheckpointAsync("b", CancellationToken.None)).Should().Be("1");
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("v1");
    }

    [Fact]
    public async Task History_IsOrderedByTimeThenCommitOrder_AndDeadLetters_NewestFirst()
    {
        await using var store = await StoreKit.OpenAsync(_folder.File());
        var late = StoreKit.History("u1", StoreKit.T0.AddHours(2), 3);
        var early = StoreKit.History("u1", StoreKit.T0, 1);
        var sameTimeFirst = StoreKit.History("u1", StoreKit.T0.AddHours(1), 2, messageId: "x");
        var sameTimeSecond = StoreKit.History("u1", StoreKit.T0.AddHours(1), 2.5, messageId: "y");
        await store.CommitAsync(new LeadStoreBatch { History = [late, sameTimeFirst] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { History = [early, sameTimeSecond, StoreKit.History("u2", StoreKit.T0, 9)] }, CancellationToken.None);

        (await store.GetHistoryAsync("u1", CancellationToken.None)).Should()
            .BeEquivalentTo([early, sameTimeFirst, sameTimeSecond, late], o => o.WithStrictOrdering());

        var letters = Enumerable.Range(0, 5).Select(i => new DeadLetter("s", "line " + i, "bad", null, StoreKit.T0.AddSeconds(i))).ToList();
        await store.CommitAsync(new LeadStoreBatch { DeadLetters = letters.Take(3).ToList() }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { DeadLetters = letters.Skip(3).ToList() }, CancellationToken.None);
        (await store.GetDeadLettersAsync(3, CancellationToken.None)).Should().Equal(letters[4], letters[3], letters[2]);
        (await store.GetDeadLettersAsync(0, CancellationToken.None)).Should().BeEmpty();
    }
}
