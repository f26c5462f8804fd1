using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// <see cref="LeadScoringEngine.TakeChanges"/>: what a store must save and delete. A lead is handed out under the id
/// it is reported under; when that id no longer names a lead (an anonymous lead that identified, a lead merged into
/// another), the old id is handed out as removed, once. Run on flat rows (where the row keeps the handed-out id as a
/// flag for the first id, or apart for any other) and on full states.
/// </summary>
public sealed class TakeChangesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<bool> Rows => new() { true, false };

    private static LeadScoringEngine Engine(bool flat)
    {
        var engine = new LeadScoringEngine(flat ? FlatStreams.Model : TestData.SampleCompiled, new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.UsesFlatRows.Should().Be(flat);
        return engine;
    }

    private static LeadMessage Page(string id, string? user, string? anonymous, int minute) =>
        LeadMessage.Page(id, user!, T0.AddMinutes(minute), new Dictionary<string, object?> { ["url"] = "https://example.com/pricing" }, anonymous);

    [Theory]
    [MemberData(nameof(Rows))]
    public void NewLeads_AreHandedOutOnce_UnderTheirIds(bool flat)
    {
        var engine = Engine(flat);
        engine.Apply(Page("m1", "u1", null, 1));
        engine.Apply(Page("m2", "u2", null, 2));

        var first = engine.TakeChanges();
        first.Changed.Should().BeEquivalentTo(["u1", "u2"]);
        first.Removed.Should().BeEmpty();

        engine.TakeChanges().Changed.Should().BeEmpty("nothing changed since");
        engine.Apply(Page("m3", "u1", null, 3));
        engine.TakeChanges().Should().BeEquivalentTo(new LeadChanges(["u1"], []));
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void AnAnonymousLeadThatIdentifies_IsHandedOutUnderItsUserId_AndItsAnonymousIdIsRemoved(bool flat)
    {
        var engine = Engine(flat);
        engine.Apply(Page("m1", null, "anon-1", 1));
        engine.TakeChanges().Changed.Should().Equal("anon-1");

        engine.Apply(LeadMessage.Identify("i1", "u1", T0.AddMinutes(2), null, "anon-1"));
        engine.TakeChanges().Should().BeEquivalentTo(new LeadChanges(["u1"], ["anon-1"]));
        engine.TakeChanges().Removed.Should().BeEmpty("a removed id is handed out once");
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TwoHandedOutLeadsThatMerge_HandOutTheAbsorbedId_AsRemoved(bool flat)
    {
        var engine = Engine(flat);
        engine.Apply(Page("m1", "u1", null, 1));
        engine.Apply(Page("m2", null, "anon-2", 2));
        engine.TakeChanges().Changed.Should().BeEquivalentTo(["u1", "anon-2"]);

        // The anonymous lead identifies as u1: two leads with history become one, reported as u1.
        engine.Apply(LeadMessage.Identify("i1", "u1", T0.AddMinutes(3), null, "anon-2"));
        var changes = engine.TakeChanges();
        changes.Changed.Should().Equal("u1");
        changes.Removed.Should().Equal("anon-2");
        engine.LeadIds().Should().Equal("u1");
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void ALeadHandedOutUnderAnIdThatIsNotItsFirst_IsRemovedUnderThatId_WhenMerged(bool flat)
    {
        var engine = Engine(flat);

        // anon-1 is the lead's first id; it is then handed out as u1 (an id it got later).
        engine.Apply(Page("m1", null, "anon-1", 1));
        engine.Apply(LeadMessage.Identify("i1", "u1", T0.AddMinutes(2), null, "anon-1"));
        engine.Apply(Page("m2", "u2", null, 3));
        engine.TakeChanges().Changed.Should().BeEquivalentTo(["u1", "u2"]);

        // u2 links to anon-1's lead: one of the two is absorbed; whichever it is, its handed-out id is removed once.
        engine.Apply(LeadMessage.Alias("a1", "u2", "u1", T0.AddMinutes(4)));
        var changes = engine.TakeChanges();
        changes.Changed.Should().ContainSingle();
        string survivor = changes.Changed[0];
        changes.Removed.Should().Equal(survivor == "u1" ? "u2" : "u1");
        engine.LeadIds().Should().Equal(survivor);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void AnImportedLead_CountsAsHandedOutUnderItsSnapshotId(bool flat)
    {
        var source = Engine(flat);
        source.Apply(Page("m1", null, "anon-1", 1));
        source.Apply(LeadMessage.Identify("i1", "u1", T0.AddMinutes(2), null, "anon-1"));
        var snapshot = source.ExportLead("u1")!;

        var engine = Engine(flat);
        engine.ImportLead(snapshot);
        engine.TakeChanges();
        engine.Apply(Page("m2", "u2", null, 3));
        engine.Apply(LeadMessage.Alias("a1", "u2", "u1", T0.AddMinutes(4)));
        var changes = engine.TakeChanges();
        changes.Removed.Should().ContainSingle().Which.Should().BeOneOf("u1", "u2");
        changes.Changed.Should().ContainSingle().Which.Should().NotBe(changes.Removed[0]);
    }
}
