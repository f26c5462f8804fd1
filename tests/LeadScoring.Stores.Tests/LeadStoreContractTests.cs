using LeadScoring.Tests.Shared.Hosting;
using LeadScoring.Tests.Shared;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Sqlite.Tests;

namespace LeadScoring.Stores.Tests;

/// <summary>
/// The store contract (<see cref="ILeadStore"/>), written once and run against every store: what a commit writes reads
/// back exactly, a commit is all or nothing, the outbox holds until acknowledged, the schema is versioned. A derived
/// class gives a fresh, empty database per test (<see cref="OpenAsync"/> may be called several times: each call is a
/// new store object on the same database, as after a restart).
/// </summary>
public abstract class LeadStoreContractTests<TStore> : IAsyncLifetime
    where TStore : class, ILeadStore, IAsyncDisposable
{
    /// <summary>A new store object on this test's database, not initialized.</summary>
    protected abstract TStore Create();

    /// <summary>Sets the hook called after each step of a commit, inside its transaction.</summary>
    protected abstract void SetCommitStepHook(TStore store, Action<string>? hook);

    /// <summary>Runs SQL on this test's database, beside the store.</summary>
    protected abstract Task ExecuteRawAsync(string sql);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A new store object on this test's database, initialized.</summary>
    protected async Task<TStore> OpenAsync()
    {
        var store = Create();
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    private sealed record State(List<string> Leads, List<string> Messages, List<string> Accounts, int History, int DeadLetters, string? Checkpoint, string? ModelVersion, DateTimeOffset? StageClock, string Outcomes);

    private static async Task<State> ReadAsync(ILeadStore store) => new(
        await StoreKit.LeadsAsync(store),
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Select(m => m.ToJson()).ToList(),
        (await StoreKit.ToListAsync(store.LoggedGroupMessagesAsync(CancellationToken.None))).Select(m => m.ToJson()).ToList(),
        (await store.GetHistoryAsync("u1", CancellationToken.None)).Count,
        (await store.GetDeadLettersAsync(100, CancellationToken.None)).Count,
        await store.GetCheckpointAsync("events", CancellationToken.None),
        await store.GetModelVersionAsync(CancellationToken.None),
        await store.GetStageClockAsync(CancellationToken.None),
        string.Join(",", (await store.TopAsync("fit", 10, CancellationToken.None)).Ids()) + "|" + string.Join(",", (await store.InStageAsync("mql", 10, CancellationToken.None)).Ids()));

    private static LeadStoreBatch FullBatch(LeadScoringEngine engine, List<LeadMessage> messages) => new()
    {
        Leads = [.. engine.ExportLeads()],
        Messages = messages,
        History =
        [
            StoreKit.History("u1", StoreKit.T0.AddTicks(1), 40),
            StoreKit.History("u2", StoreKit.T0.AddDays(1), 5, grade: null, stage: null, messageId: null),
            new("u1", StoreKit.T0.AddDays(2), [new("fit", double.MaxValue), new("engagement", double.PositiveInfinity), new("intent", double.NaN), new("total", -123.456)], "A", "sql", "2026.11.1", "t-2"),
        ],
        Outcomes =
        [
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

    /// <summary>A first batch (the first messages) and a second one touching every table (the rest, and a re-scoring).</summary>
    private static (LeadStoreBatch First, LeadStoreBatch Second) Batches()
    {
        var messages = StoreKit.Messages();
        var first = StoreKit.Engine(messages.Take(4));
        var second = StoreKit.Engine(messages);
        return (
            new LeadStoreBatch
            {
                Leads = [.. first.ExportLeads()],
                Messages = messages.Take(4).ToList(),
                History = [StoreKit.History("u1", StoreKit.T0, 10)],
                Outcomes = [StoreKit.History("u1", StoreKit.T0, 10)],
                DeadLetters = [new("events", "line 1", "bad", "x", StoreKit.T0)],
                Checkpoints = new Dictionary<string, string> { ["events"] = "4" },
                ModelVersion = "v1",
                StageClock = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero),
            },
            new LeadStoreBatch
            {
                Leads = [.. second.ExportLeads()],
                RemovedLeads = ["anon-1"],
                Messages = messages.Skip(4).ToList(),
                History = [StoreKit.History("u1", StoreKit.T0.AddHours(1), 20)],
                Outcomes = [StoreKit.History("u1", StoreKit.T0.AddHours(1), 20)],
                DeadLetters = [new("events", "line 9", "bad", null, StoreKit.T0)],
                Checkpoints = new Dictionary<string, string> { ["events"] = "16" },
                ModelVersion = "v2",
                StageClock = new DateTimeOffset(2026, 10, 2, 0, 0, 0, TimeSpan.Zero),
                ReplaceAllLeads = true,
            });
    }

    [StoreFact]
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
        batch.Messages.Should().Contain(m => m.Type == MessageType.Group);

        await using var store = await OpenAsync();
        await store.CommitAsync(batch, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(batch.Leads.Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        var loaded = await StoreKit.ToListAsync(store.LoadLeadsAsync(CancellationToken.None));
        loaded.Single(s => s.LeadId == "u1").Ids.Should().Equal("anon-1", "u1");
        loaded.Single(s => s.LeadId == "u2").BaseState.Should().NotBeNull();
        loaded.Single(s => s.LeadId == "u1").BaseState.Should().BeNull();

        // A store keeps states, not journals: the pipeline reads a lead's messages back from the message log.
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(batch.Messages.Select(m => m.ToJson()), "the log keeps commit order");
        (await StoreKit.ToListAsync(store.LoggedGroupMessagesAsync(CancellationToken.None))).Select(m => m.ToJson())
            .Should().Equal(batch.Messages.Where(m => m.Type == MessageType.Group).Select(m => m.ToJson()), "group messages are read from the log; there is no account log");

        var u1 = await store.GetHistoryAsync("u1", CancellationToken.None);
        u1.Should().BeEquivalentTo(batch.History.Where(h => h.LeadId == "u1"), o => o.WithStrictOrdering());
        u1[1].Scores.Select(s => s.Key).Should().Equal("fit", "engagement", "intent", "total");
        u1[1].Scores[1].Value.Should().Be(double.PositiveInfinity);
        double.IsNaN(u1[1].Scores[2].Value).Should().BeTrue();
        u1[0].Scores[2].Value.Should().Be(0.0);
        double.IsNegative(u1[0].Scores[2].Value).Should().BeTrue("-0 keeps its sign");
        (await store.GetHistoryAsync("u2", CancellationToken.None)).Should().BeEquivalentTo(batch.History.Where(h => h.LeadId == "u2"));
        (await store.TopAsync("fit", 5, CancellationToken.None)).Should().Equal([("u1", double.MaxValue), ("u2", 5.0)]);
        (await store.TopAsync("engagement", 5, CancellationToken.None)).Should().Equal([("u1", double.PositiveInfinity), ("u2", 0.1 + 0.2)]);
        (await store.TopAsync("intent", 5, CancellationToken.None)).Ids().Should().Equal("u2", "u1");  // NaN last
        (await store.InStageAsync("SQL", 5, CancellationToken.None)).Should().Equal([("u1", double.MaxValue)]);
        (await store.GetHistoryAsync("nobody", CancellationToken.None)).Should().BeEmpty();

        (await store.GetDeadLettersAsync(10, CancellationToken.None)).Should().Equal(batch.DeadLetters.Reverse());
        (await store.GetCheckpointAsync("events", CancellationToken.None)).Should().Be("events-01.jsonl:3");
        (await store.GetCheckpointAsync("http", CancellationToken.None)).Should().Be("7");
        (await store.GetCheckpointAsync("other", CancellationToken.None)).Should().BeNull();
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("2026.11.1");
    }

    [StoreFact]
    public async Task IdsAndTexts_WithControlCharacters_RoundTripExactly()
    {
        const string lead = "nul\0lead\u0001x";
        var messages = new List<LeadMessage>
        {
            LeadMessage.Identify("m\0-1", lead, StoreKit.T0, new Dictionary<string, object?> { ["title"] = "VP\0Sales", ["company"] = "A\u0001B" }),
            LeadMessage.Track("m\u0001-2", lead, "Demo Requested", StoreKit.T0.AddMinutes(1), new Dictionary<string, object?>()),
        };
        var engine = StoreKit.Engine(messages);
        var batch = new LeadStoreBatch
        {
            Leads = [.. engine.ExportLeads()],
            Messages = messages,
            History = [StoreKit.History(lead, StoreKit.T0, 1, grade: "A\0", stage: "mql\u0001", messageId: "m\0-1")],
            Outcomes = [StoreKit.History(lead, StoreKit.T0, 1, grade: "A\0", stage: "mql\u0001", messageId: "m\0-1")],
            DeadLetters = [new("src\0", "line\u00011", "bad\0", "raw\0\u0001\\u0000", StoreKit.T0)],
            Checkpoints = new Dictionary<string, string> { ["src\0"] = "7\u0001\0" },
            Notifications = [new LeadNotification("k\0", LeadNotificationKind.StageChanged, lead, "{\"a\":\"\\u0000\"}")],
        };

        await using var store = await OpenAsync();
        await store.CommitAsync(batch, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(batch.Leads.Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Select(m => m.MessageId).Should().Equal("m\0-1", "m\u0001-2");
        (await store.GetHistoryAsync(lead, CancellationToken.None)).Should().BeEquivalentTo(batch.History);
        (await store.TopAsync("fit", 10, CancellationToken.None)).Ids().Should().Equal(lead);
        (await store.InStageAsync("MQL\u0001", 10, CancellationToken.None)).Ids().Should().Equal(lead);
        (await store.GetDeadLettersAsync(1, CancellationToken.None)).Should().Equal(batch.DeadLetters);
        (await store.GetCheckpointAsync("src\0", CancellationToken.None)).Should().Be("7\u0001\0");
        (await store.LoadPendingNotificationsAsync(CancellationToken.None)).Should().Equal(batch.Notifications);
        await store.AcknowledgeNotificationsAsync(["k\0"], CancellationToken.None);
        (await store.LoadPendingNotificationsAsync(CancellationToken.None)).Should().BeEmpty();
    }

    [StoreFact]
    public async Task AnEngineRestoredFromTheStore_GoesOnExactlyLikeTheOriginal()
    {
        var messages = StoreKit.SampleMessages();
        int half = messages.Count / 2;
        var original = new LeadScoringEngine(StoreKit.Model);
        foreach (var m in messages.Take(half))
        {
            original.Apply(m);
        }

        await using (var store = await OpenAsync())
        {
            // As the pipeline does: the leads, and every message applied (the log the journals are read back from).
            await store.CommitAsync(new LeadStoreBatch { Leads = [.. original.ExportLeads()], Messages = [.. messages.Take(half)], StateCheckpoint = true }, CancellationToken.None);
        }

        var restored = new LeadScoringEngine(StoreKit.Model);
        await using (var store = await OpenAsync())
        {
            // As the pipeline does: the group messages and each lead's messages (by its ids) from the log up to the state position.
            (await store.GetStatePositionAsync(CancellationToken.None)).Should().BeGreaterThan(0);
            var logged = await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None));
            restored.ImportAccountMessages(logged.Where(m => m.Type == MessageType.Group));
            await foreach (var snapshot in store.LoadLeadsAsync(CancellationToken.None))
            {
                var ids = snapshot.Ids.ToHashSet(StringComparer.Ordinal);
                restored.ImportLead(LeadSnapshot.Create(snapshot.LeadId, snapshot.Ids, snapshot.State, snapshot.BaseState, logged.Where(m => ids.Contains(m.LeadId))));
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

    [StoreFact]
    public async Task ManyHistoryEntriesInOneCommit_AreEachReadBackInOrder_WithTheirOwnValues()
    {
        // 37 entries of five leads, interleaved (a store may write them several rows to a statement: SQLite 16, then the
        // rest one by one), then a commit of exactly 16: every entry is read back under its lead, in order, with its values.
        var first = Enumerable.Range(0, 37)
            .Select(i => StoreKit.History($"u{i % 5}", StoreKit.T0.AddMinutes(i), fit: i, grade: i % 2 == 0 ? "A" : null, stage: $"s{i}", messageId: $"m{i}"))
            .ToList();
        var second = Enumerable.Range(37, 16)
            .Select(i => StoreKit.History($"u{i % 5}", StoreKit.T0.AddMinutes(i), fit: i, messageId: $"m{i}"))
            .ToList();
        await using var store = await OpenAsync();
        await store.CommitAsync(new LeadStoreBatch { History = first }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { History = second }, CancellationToken.None);

        foreach (string lead in Enumerable.Range(0, 5).Select(i => $"u{i}"))
        {
            (await store.GetHistoryAsync(lead, CancellationToken.None)).Should().BeEquivalentTo(
                first.Concat(second).Where(h => h.LeadId == lead), o => o.WithStrictOrdering(), "lead {0}'s entries", lead);
        }
    }

    [StoreFact]
    public async Task TheLog_GivesItsBatchesInOrder_AndAStateCheckpointRecordsTheLogEnd()
    {
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        await using var store = await OpenAsync();
        (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(0, "no state checkpoint yet");

        await store.CommitAsync(new LeadStoreBatch { Messages = messages.Take(3).ToList() }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0, 1)] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Messages = messages.Skip(3).Take(2).ToList(), Leads = [.. engine.ExportLeads()], StateCheckpoint = true }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Messages = messages.Skip(5).ToList(), Leads = [engine.ExportLead("u1")!] }, CancellationToken.None);

        var log = await StoreKit.ToListAsync(store.ReadLogAsync(0, CancellationToken.None));
        log.Select(b => b.Messages.Count).Should().Equal([3, 2, messages.Count - 5], "one logged batch per commit with messages");
        log.Select(b => b.Position).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        log.SelectMany(b => b.Messages).Select(m => m.ToJson()).Should().Equal(messages.Select(m => m.ToJson()));
        (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(log[1].Position, "the states are as of the end of the log after the checkpoint's own messages");

        var after = await StoreKit.ToListAsync(store.ReadLogAsync(log[1].Position, CancellationToken.None));
        after.Select(b => b.Position).Should().Equal(log[2].Position);

        // A checkpoint with no messages of its own (a drain) is as of the end of the log.
        await store.CommitAsync(new LeadStoreBatch { Leads = [engine.ExportLead("u2")!], StateCheckpoint = true }, CancellationToken.None);
        (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(log[2].Position);
        (await StoreKit.ToListAsync(store.ReadLogAsync(log[2].Position, CancellationToken.None))).Should().BeEmpty();
    }

    [StoreFact]
    public async Task TheLog_ReadsBackMessagesWhoseTextHoldsLineSeparatorsOtherThanLineFeed()
    {
        // The log row is JSON Lines: only U+000A ends a line. JSON escapes it, carriage returns and form feeds, but may
        // leave U+0085, U+2028 and U+2029 as they are, which .NET's EnumerateLines would also take as line ends.
        string text = "a\u0085b\u2028c\u2029d\fe\rf\ng\u0000h\u0001i";
        var messages = new List<LeadMessage>
        {
            LeadMessage.Track("m1", "u1", "Odd Text", StoreKit.T0, new Dictionary<string, object?> { ["note"] = text }),
            LeadMessage.Page("m2", "u1", StoreKit.T0.AddMinutes(1), new Dictionary<string, object?> { ["url"] = "/x" + text }),
        };
        var batch = new LeadStoreBatch { Messages = messages };
        await using (var store = await OpenAsync())
        {
            await store.CommitAsync(batch, CancellationToken.None);
        }

        await using var reopened = await OpenAsync();
        var log = await StoreKit.ToListAsync(reopened.ReadLogAsync(0, CancellationToken.None));
        log.SelectMany(b => b.Messages).Select(m => m.ToJson()).Should().Equal(messages.Select(m => m.ToJson()));
        ((IMessageLog)reopened).ReadLogBatch(batch.LogPosition)!.Select(m => m.ToJson()).Should().Equal(messages.Select(m => m.ToJson()));
    }

    [StoreFact]
    public async Task ACommit_TellsItsLogPosition_AndOneBatchReadsBackAtIt_AlsoAfterReopening()
    {
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        var batches = new[]
        {
            new LeadStoreBatch { Messages = messages.Take(3).ToList() },
            new LeadStoreBatch { History = [StoreKit.History("u1", StoreKit.T0, 1)] },
            new LeadStoreBatch { Messages = messages.Skip(3).Take(2).ToList(), Leads = [.. engine.ExportLeads()], StateCheckpoint = true },
            new LeadStoreBatch { Messages = messages.Skip(5).ToList() },
        };
        await using (var store = await OpenAsync())
        {
            foreach (var batch in batches)
            {
                await store.CommitAsync(batch, CancellationToken.None);
            }

            var log = await StoreKit.ToListAsync(store.ReadLogAsync(0, CancellationToken.None));
            batches.Where(b => b.Messages.Count > 0).Select(b => b.LogPosition).Should().Equal(log.Select(b => b.Position), "each commit with messages tells the position the log reports");
            batches[1].LogPosition.Should().Be(0, "a commit without messages logs no batch");
            (await store.GetStatePositionAsync(CancellationToken.None)).Should().Be(batches[2].LogPosition);
        }

        // A new store object on the same database (a restart) reads each batch by its position, messages in their order.
        await using var reopened = await OpenAsync();
        IMessageLog messageLog = reopened;
        foreach (var batch in batches.Where(b => b.Messages.Count > 0))
        {
            messageLog.ReadLogBatch(batch.LogPosition)!.Select(m => m.ToJson()).Should().Equal(batch.Messages.Select(m => m.ToJson()));
        }

        messageLog.ReadLogBatch(batches[3].LogPosition + 1).Should().BeNull("no batch is logged there");
        messageLog.ReadLogBatch(0).Should().BeNull();
    }

    [StoreFact]
    public async Task RemovedLeads_AreDeleted_AndALeadBothRemovedAndWritten_IsKept()
    {
        var engine = StoreKit.Engine(StoreKit.Messages());
        var u1 = engine.ExportLead("u1")!;
        var u2 = engine.ExportLead("u2")!;
        var renamed = LeadSnapshot.Create("u3", ["u3"], u2.State, u2.BaseState, u2.Journal);

        await using var store = await OpenAsync();
        await store.CommitAsync(new LeadStoreBatch { Leads = [u1, u2] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { RemovedLeads = ["u2", "u1", "never-stored"], Leads = [renamed, u1] }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(new[] { u1, renamed }.Select(StoreKit.Describe).Order(StringComparer.Ordinal));

        await store.CommitAsync(new LeadStoreBatch { RemovedLeads = ["u1"] }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().Equal(StoreKit.Describe(renamed));
    }

    [StoreFact]
    public async Task ALeadWrittenAgain_IsReplaced_AlsoWithinOneBatch()
    {
        var messages = StoreKit.Messages();
        var before = StoreKit.Engine(messages.Take(3)).ExportLead("u1")!;
        var after = StoreKit.Engine(messages).ExportLead("u1")!;
        StoreKit.Describe(before).Should().NotBe(StoreKit.Describe(after));

        await using var store = await OpenAsync();
        await store.CommitAsync(new LeadStoreBatch { Leads = [before] }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Leads = [after] }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().Equal(StoreKit.Describe(after));

        await store.CommitAsync(new LeadStoreBatch { Leads = [before, after] }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().Equal(StoreKit.Describe(after));
    }

    [StoreFact]
    public async Task ReplaceAllLeads_ReplacesEveryStoredLead_AndKeepsTheRest()
    {
        var engine = StoreKit.Engine(StoreKit.Messages());
        var u1 = engine.ExportLead("u1")!;
        var u2 = engine.ExportLead("u2")!;
        var rescored = LeadSnapshot.Create("u9", ["u9"], u1.State, null, []);

        await using var store = await OpenAsync();
        await store.CommitAsync(FullBatch(engine, StoreKit.Messages()), CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Leads = [rescored, u2], ReplaceAllLeads = true, ModelVersion = "2027.1" }, CancellationToken.None);

        (await StoreKit.LeadsAsync(store)).Should().Equal(new[] { rescored, u2 }.Select(StoreKit.Describe).Order(StringComparer.Ordinal));
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("2027.1");
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().NotBeEmpty("re-scoring replaces leads, not the message log");
        (await store.GetHistoryAsync("u1", CancellationToken.None)).Should().HaveCount(2);

        await store.CommitAsync(new LeadStoreBatch { ReplaceAllLeads = true }, CancellationToken.None);
        (await StoreKit.LeadsAsync(store)).Should().BeEmpty();
    }

    [StoreFact]
    public async Task Outcomes_AreTheLatestEntriesGivenAtCheckpoints_InScoreAndStageOrder_ThroughRenamesCutsAndARescoring_AndSurviveReopening()
    {
        var scenario = new LeadScoring.Tests.Shared.Hosting.OutcomeScenario(seed: 13);
        await using (var store = await OpenAsync())
        {
            for (int i = 0; i < scenario.Batches.Count; i++)
            {
                await store.CommitAsync(scenario.Batches[i], CancellationToken.None);
                await scenario.ShouldMatchAsync(store, i + 1);
            }
        }

        await using var reopened = await OpenAsync();
        await scenario.ShouldMatchAsync(reopened, scenario.Batches.Count);
    }

    [StoreFact]
    public async Task Outcomes_AreWrittenOnlyAsGiven_NotFromTheHistory_RemovedAndReplacedAsTheBatchSays_AndBadQueriesAreRefused()
    {
        var (first, second) = Batches();
        await using var store = await OpenAsync();
        await store.CommitAsync(first, CancellationToken.None);
        (await store.TopAsync("fit", 5, CancellationToken.None)).Should().Equal([("u1", 10.0)]);

        // History alone (a batch between state checkpoints) leaves the outcomes as they are.
        await store.CommitAsync(new LeadStoreBatch { History = [StoreKit.History("u2", StoreKit.T0.AddHours(3), 30, stage: "lead")] }, CancellationToken.None);
        (await store.TopAsync("fit", 5, CancellationToken.None)).Ids().Should().Equal("u1");

        // An outcome replaces the stored one whatever its instant (a cut history's latest entry is older).
        await store.CommitAsync(new LeadStoreBatch
        {
            Outcomes = [StoreKit.History("u2", StoreKit.T0.AddHours(3), 30, stage: "lead"), StoreKit.History("u1", StoreKit.T0.AddTicks(-1), 35)],
        }, CancellationToken.None);
        (await store.TopAsync("fit", 5, CancellationToken.None)).Should().Equal([("u1", 35.0), ("u2", 30.0)]);
        (await store.TopAsync("fit", 1, CancellationToken.None)).Ids().Should().Equal("u1");
        (await store.TopAsync("FIT", 5, CancellationToken.None)).Should().BeEmpty("score names are exact");
        (await store.InStageAsync("MQL", 5, CancellationToken.None)).Ids().Should().Equal("u1");
        (await store.InStageAsync("lead", 5, CancellationToken.None)).Should().Equal([("u2", 30.0)]);

        await store.CommitAsync(new LeadStoreBatch { RemovedOutcomes = ["u1", "unknown"] }, CancellationToken.None);
        (await store.TopAsync("fit", 5, CancellationToken.None)).Ids().Should().Equal("u2");
        (await store.InStageAsync("mql", 5, CancellationToken.None)).Should().BeEmpty();

        // A re-scoring replaces every outcome: u2, not given, goes.
        await store.CommitAsync(second, CancellationToken.None);
        (await store.TopAsync("fit", 5, CancellationToken.None)).Should().Equal([("u1", 20.0)]);
        (await store.InStageAsync("lead", 5, CancellationToken.None)).Should().BeEmpty();

        var negative = async () => await store.TopAsync("fit", -1, CancellationToken.None);
        (await negative.Should().ThrowAsync<ArgumentOutOfRangeException>()).WithMessage("*count*");
        var noStage = async () => await store.InStageAsync(null!, 5, CancellationToken.None);
        (await noStage.Should().ThrowAsync<ArgumentNullException>()).WithMessage("*stage*");
    }

    [StoreFact]
    public async Task ManyOutcomesInOneCommit_AreEachWritten_ThenReplaced_AndAnOutcomeWithOtherScoresLosesItsOldOnes()
    {
        // 37 outcomes of four scores each (148 score rows: a store may write them several to a statement, SQLite 16, then
        // the rest one by one), given out of lead id order.
        var leads = Enumerable.Range(0, 37).Select(i => $"u{i:D2}").Reverse().ToList();
        var first = leads.Select(l => StoreKit.History(l, StoreKit.T0, fit: int.Parse(l[1..]), stage: int.Parse(l[1..]) % 3 == 0 ? "mql" : "lead")).ToList();
        await using var store = await OpenAsync();
        await store.CommitAsync(new LeadStoreBatch { Outcomes = first }, CancellationToken.None);

        (await store.TopAsync("fit", 100, CancellationToken.None)).Should().Equal(
            Enumerable.Range(0, 37).Reverse().Select(i => ($"u{i:D2}", (double)i)), "every outcome, by its fit");
        (await store.TopAsync("engagement", 100, CancellationToken.None)).Should().HaveCount(37).And.OnlyContain(e => e.Item2 == 0.1 + 0.2);
        (await store.InStageAsync("mql", 100, CancellationToken.None)).Ids().Should().Equal(
            Enumerable.Range(0, 37).Where(i => i % 3 == 0).Reverse().Select(i => $"u{i:D2}"));

        // Every outcome replaced (the fit reversed), u05's by one with other scores: its fit and the rest go.
        var second = leads.Select(l => l == "u05"
                ? new ScoreHistoryEntry(l, StoreKit.T0.AddHours(1), [new("other", 7.0)], "A", "lead", "2026.11.2", "m")
                : StoreKit.History(l, StoreKit.T0.AddHours(1), fit: 100 - int.Parse(l[1..]), stage: "lead"))
            .ToList();
        await store.CommitAsync(new LeadStoreBatch { Outcomes = second }, CancellationToken.None);
        (await store.TopAsync("fit", 100, CancellationToken.None)).Should().Equal(
            Enumerable.Range(0, 37).Where(i => i != 5).Select(i => ($"u{i:D2}", 100.0 - i)), "the new values, u05 without a fit");
        (await store.TopAsync("total", 100, CancellationToken.None)).Ids().Should().HaveCount(36).And.NotContain("u05");
        (await store.TopAsync("other", 100, CancellationToken.None)).Should().Equal([("u05", 7.0)]);
        (await store.InStageAsync("mql", 100, CancellationToken.None)).Should().BeEmpty();
        (await store.InStageAsync("lead", 100, CancellationToken.None)).Should().HaveCount(37);
    }

    [StoreFact]
    public async Task Checkpoints_AndTheModelVersion_AreOverwritten_AndKeptWhenNotGiven()
    {
        await using var store = await OpenAsync();
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().BeNull("an empty store has no model version");
        await store.CommitAsync(new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["a"] = "1", ["b"] = "1" }, ModelVersion = "v1" }, CancellationToken.None);
        await store.CommitAsync(new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["a"] = "2" } }, CancellationToken.None);

        (await store.GetCheckpointAsync("a", CancellationToken.None)).Should().Be("2");
        (await store.GetCheckpointAsync("b", CancellationToken.None)).Should().Be("1");
        (await store.GetModelVersionAsync(CancellationToken.None)).Should().Be("v1");
    }

    [StoreFact]
    public async Task History_IsOrderedByTimeThenCommitOrder_AndDeadLetters_NewestFirst()
    {
        await using var store = await OpenAsync();
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

    [StoreFact]
    public async Task Notifications_SurviveReopening_UntilAcknowledged_AndAKeyIsStoredOnce()
    {
        var n1 = new LeadNotification("k1", LeadNotificationKind.StageChanged, "u1", "{\"a\":1}");
        var n2 = new LeadNotification("k2", LeadNotificationKind.ScoreChanged, "u2", "{\"b\":2}");
        await using (var store = await OpenAsync())
        {
            await store.CommitAsync(new LeadStoreBatch { Notifications = [n1, n2] }, default);
            await store.CommitAsync(new LeadStoreBatch { Notifications = [n1] }, default);
            await store.CommitAsync(new LeadStoreBatch { Notifications = [n2, n2] }, default);
        }

        await using (var reopened = await OpenAsync())
        {
            (await reopened.LoadPendingNotificationsAsync(default)).Should().Equal(n1, n2);
            await reopened.AcknowledgeNotificationsAsync(["k1"], default);
            (await reopened.LoadPendingNotificationsAsync(default)).Should().Equal(n2);
            await reopened.AcknowledgeNotificationsAsync([], default);
            (await reopened.LoadPendingNotificationsAsync(default)).Should().Equal(n2);
        }
    }

    [StoreFact]
    public async Task History_is_renamed_then_cut_from_an_instant_then_appended_in_one_commit()
    {
        var t0 = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        ScoreHistoryEntry E(string lead, int hour, string? message) =>
            new(lead, t0.AddHours(hour), [new("engagement", hour)], null, "lead", "v1", message);
        await using var store = await OpenAsync();
        await store.CommitAsync(new LeadStoreBatch { History = [E("anon", 1, "m1"), E("anon", 2, "m2"), E("b", 1, "n1"), E("b", 3, "n3"), E("b", 5, "n5")] }, default);

        // The anonymous visitor identified (its entries move to its user id), and a late message rewrote b from hour 3.
        await store.CommitAsync(new LeadStoreBatch
        {
            HistoryRenamed = new Dictionary<string, string> { ["anon"] = "user" },
            HistoryReplacedFrom = new Dictionary<string, DateTimeOffset> { ["b"] = t0.AddHours(3) },
            History = [E("user", 4, "m4"), E("b", 3, "late"), E("b", 6, null)],
            StageClock = t0.AddHours(6),
        }, default);

        (await store.GetHistoryAsync("anon", default)).Should().BeEmpty();
        (await store.GetHistoryAsync("user", default)).Select(h => h.MessageId).Should().Equal("m1", "m2", "m4");
        (await store.GetHistoryAsync("b", default)).Select(h => (h.At.Hour, h.MessageId)).Should().Equal((1, "n1"), (3, "late"), (6, (string?)null));
        (await store.GetStageClockAsync(default)).Should().Be(t0.AddHours(6));
    }

    [StoreFact]
    public async Task ACommitFailingPartWay_LeavesThePreviousStateAndCheckpoint()
    {
        string[] steps = ["replace-all", "removed-leads", "leads", "messages", "history", "dead-letters", "checkpoints", "model-version", "stage-clock", "notifications"];
        var (first, second) = Batches();
        await using var store = await OpenAsync();
        await store.CommitAsync(first, CancellationToken.None);
        var before = await ReadAsync(store);
        before.Checkpoint.Should().Be("4");

        foreach (string failingStep in steps)
        {
            SetCommitStepHook(store, step =>
            {
                if (step == failingStep)
                {
                    throw new IOException("injected failure after " + step);
                }
            });
            var act = async () => await store.CommitAsync(second, CancellationToken.None);
            await act.Should().ThrowAsync<IOException>(failingStep);
            (await ReadAsync(store)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "a failure after {0} rolls back", failingStep);
        }

        // The store goes on: the same batch commits once the failure is gone.
        SetCommitStepHook(store, null);
        await store.CommitAsync(second, CancellationToken.None);
        (await ReadAsync(store)).Checkpoint.Should().Be("16");
    }

    [StoreFact]
    public async Task ABatchViolatingAConstraint_WritesNothing_AndSurvivesReopening()
    {
        var (first, second) = Batches();
        State before;
        await using (var store = await OpenAsync())
        {
            await store.CommitAsync(first, CancellationToken.None);
            before = await ReadAsync(store);

            // The dead letters are written after the leads and messages: a NOT NULL column fails in the database itself.
            var bad = new LeadStoreBatch
            {
                Leads = second.Leads,
                Messages = second.Messages,
                DeadLetters = [new(null!, "line 10", "bad", null, StoreKit.T0)],
                Checkpoints = second.Checkpoints,
                ReplaceAllLeads = true,
            };
            var act = async () => await store.CommitAsync(bad, CancellationToken.None);
            await act.Should().ThrowAsync<Exception>();
            (await ReadAsync(store)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
            await store.CommitAsync(second, CancellationToken.None);
        }

        await using (var reopened = await OpenAsync())
        {
            (await ReadAsync(reopened)).Checkpoint.Should().Be("16", "the store went on after the failed commit");
        }
    }

    [StoreFact]
    public async Task ACancelledCommit_WritesNothing()
    {
        var (first, _) = Batches();
        await using var store = await OpenAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = async () => await store.CommitAsync(first, cancelled.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();
        (await store.GetCheckpointAsync("events", CancellationToken.None)).Should().BeNull();
        (await StoreKit.LeadsAsync(store)).Should().BeEmpty();
    }

    [StoreFact]
    public async Task CommittedBatches_SurviveReopening_WithANewStore()
    {
        var (first, second) = Batches();
        State expected;
        await using (var store = await OpenAsync())
        {
            await store.CommitAsync(first, CancellationToken.None);
            await store.CommitAsync(second, CancellationToken.None);
            expected = await ReadAsync(store);
        }

        expected.Checkpoint.Should().Be("16");
        expected.ModelVersion.Should().Be("v2");
        expected.History.Should().Be(2);
        await using (var reopened = await OpenAsync())
        {
            (await ReadAsync(reopened)).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        }
    }

    [StoreFact]
    public async Task ALoadInProgress_SeesASnapshot_AndDoesNotBlockCommits()
    {
        var (first, second) = Batches();
        await using var store = await OpenAsync();
        await store.CommitAsync(first, CancellationToken.None);
        int stored = first.Messages.Count;

        var seen = new List<string>();
        await foreach (var message in store.LoggedMessagesAsync(CancellationToken.None))
        {
            if (seen.Count == 0)
            {
                // Committing while enumerating neither deadlocks nor shows up in this enumeration.
                await store.CommitAsync(second, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            }

            seen.Add(message.MessageId);
        }

        seen.Should().HaveCount(stored);
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Should().HaveCount(stored + second.Messages.Count);
    }

    [StoreFact]
    public async Task SecondInitialize_IsANoOp_OnTheSameStoreAndOnANewOne()
    {
        var batch = new LeadStoreBatch { Checkpoints = new Dictionary<string, string> { ["s"] = "42" }, ModelVersion = "v1" };
        await using (var store = await OpenAsync())
        {
            await store.CommitAsync(batch, CancellationToken.None);
            await store.InitializeAsync(CancellationToken.None);
            (await store.GetCheckpointAsync("s", CancellationToken.None)).Should().Be("42");
        }

        await using (var again = await OpenAsync())
        {
            await again.InitializeAsync(CancellationToken.None);
            (await again.GetCheckpointAsync("s", CancellationToken.None)).Should().Be("42");
            (await again.GetModelVersionAsync(CancellationToken.None)).Should().Be("v1");
        }
    }

    [StoreFact]
    public async Task ASchemaFromANewerVersion_IsRefused()
    {
        await (await OpenAsync()).DisposeAsync();
        await ExecuteRawAsync("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 0);");

        await using var store = Create();
        var act = async () => await store.InitializeAsync(CancellationToken.None);
        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*version 99*newer*");
    }

    [StoreFact]
    public async Task UsingTheStoreBeforeInitialize_OrAfterDispose_Throws()
    {
        var store = Create();
        var before = async () => await store.GetModelVersionAsync(CancellationToken.None);
        await before.Should().ThrowAsync<InvalidOperationException>().WithMessage("*InitializeAsync*");

        await store.InitializeAsync(CancellationToken.None);
        await store.DisposeAsync();
        var after = async () => await store.CommitAsync(new LeadStoreBatch(), CancellationToken.None);
        await after.Should().ThrowAsync<ObjectDisposedException>();
    }
}
