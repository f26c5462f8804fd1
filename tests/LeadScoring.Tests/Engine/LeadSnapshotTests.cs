using System.Buffers;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Output;
using Xunit.Abstractions;

namespace LeadScoring.Tests.Engine;

/// <summary>Lead state a store can persist: the binary form round-trips, and a restored engine goes on exactly.</summary>
public class LeadSnapshotTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset AsOf = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private static List<LeadMessage> SampleMessages() =>
        MessageReader.Read(File.OpenRead(TestData.SamplePath("messages.jsonl")))
            .Where(r => r.Result.Message is not null)
            .Select(r => r.Result.Message!)
            .ToList();

    private static string Output(LeadScoringEngine engine) =>
        string.Join("\n", engine.EvaluateAll(AsOf, explain: true).Select(LeadResultJson.ToJson));

    [Fact]
    public void RestoredEngine_ContinuesExactlyLikeTheOriginal()
    {
        var messages = SampleMessages();
        int half = messages.Count / 2;
        var original = new LeadScoringEngine(TestData.SampleCompiled);
        foreach (var m in messages.Take(half))
        {
            original.Apply(m);
        }

        // Persist: leads (state bytes + journal as JSON text) and account messages, as a store would.
        var saved = original.ExportLeads()
            .Select(s => (s.LeadId, Ids: s.Ids.ToArray(), State: s.State.ToArray(), Base: s.BaseState?.ToArray(), Journal: s.Journal.Select(m => m.ToJson()).ToArray()))
            .ToList();
        var accounts = original.ExportAccountMessages().Select(m => m.ToJson()).ToList();

        var restored = new LeadScoringEngine(TestData.SampleCompiled);
        restored.ImportAccountMessages(accounts.Select(j => MessageParser.Parse(j).Message!));
        foreach (var s in saved)
        {
            restored.ImportLead(LeadSnapshot.Create(s.LeadId, s.Ids, s.State, s.Base, s.Journal.Select(j => MessageParser.Parse(j).Message!)));
        }

        restored.LeadCount.Should().Be(original.LeadCount);
        Output(restored).Should().Be(Output(original));

        foreach (var m in messages.Skip(half))
        {
            restored.Apply(m).Should().Be(original.Apply(m));
        }

        Output(restored).Should().Be(Output(original));
    }

    [Fact]
    public void ExportLeadState_IsExportLeadWithoutTheJournal_AndRestoresWithTheMessageLogAsJournal()
    {
        // Issue 13: a host that keeps its own message log saves only the state and hands the lead's logged messages back.
        var messages = SampleMessages();
        int half = messages.Count / 2;
        var original = new LeadScoringEngine(TestData.SampleCompiled);
        foreach (var m in messages.Take(half))
        {
            original.Apply(m);
        }

        var restored = new LeadScoringEngine(TestData.SampleCompiled);
        restored.ImportAccountMessages(original.ExportAccountMessages());
        foreach (var id in original.LeadIds())
        {
            var full = original.ExportLead(id)!;
            var state = original.ExportLeadState(id)!;
            state.Journal.Should().BeEmpty();
            (state.LeadId, state.Ids, state.State.ToArray(), state.BaseState?.ToArray())
                .Should().BeEquivalentTo((full.LeadId, full.Ids, full.State.ToArray(), full.BaseState?.ToArray()));
            var log = messages.Take(half).Where(m => state.Ids.Contains(m.LeadId)).ToList();
            restored.ImportLead(LeadSnapshot.Create(state.LeadId, state.Ids, state.State, state.BaseState, log));
        }

        Output(restored).Should().Be(Output(original));
        foreach (var m in messages.Skip(half))
        {
            restored.Apply(m).Should().Be(original.Apply(m));
        }

        Output(restored).Should().Be(Output(original));
        original.ExportLeadState("no-such-lead").Should().BeNull();
    }

    [Fact]
    public void StateBytes_DecodeAndEncodeToTheSameBytes_AndReportTheirSize()
    {
        var engine = new LeadScoringEngine(TestData.SampleCompiled);
        foreach (var m in SampleMessages())
        {
            engine.Apply(m);
        }

        var sizes = new List<int>();
        foreach (var snapshot in engine.ExportLeads())
        {
            var state = LeadStateCodec.Decode(snapshot.State.Span, TestData.SampleCompiled);
            LeadStateCodec.Encode(state, TestData.SampleCompiled).Should().Equal(snapshot.State.ToArray());
            sizes.Add(snapshot.State.Length);
        }

        output.WriteLine($"sample model: {sizes.Count} leads, state bytes per lead: mean {sizes.Average():F0}, median {sizes.Order().ElementAt(sizes.Count / 2)}, max {sizes.Max()}");
        sizes.Average().Should().BeLessThan(1024, "the binary state of a sample lead is compact (journal excluded)");
    }

    [Fact]
    public void StateWrittenForAnotherModel_IsRefused()
    {
        var engine = new LeadScoringEngine(TestData.SampleCompiled);
        engine.Apply(LeadMessage.Track("m1", "u1", "Demo Requested", AsOf.AddDays(-1)));
        var snapshot = engine.ExportLead("u1")!;
        var other = LeadScoring.Model.ScoringModelLoader.Load("""{"name":"other","version":"1","scores":[{"name":"s"}]}""").GetModelOrThrow();

        var act = () => new LeadScoringEngine(CompiledModel.Compile(other)).ImportLead(snapshot);

        act.Should().Throw<InvalidDataException>().WithMessage("*another layout*");
    }

    [Fact]
    public void DamagedStateBytes_AreRefusedWithAClearError()
    {
        var engine = new LeadScoringEngine(TestData.SampleCompiled);
        engine.Apply(LeadMessage.Track("m1", "u1", "Demo Requested", AsOf.AddDays(-1)));
        var bytes = engine.ExportLead("u1")!.State.ToArray();

        var act = () => LeadStateCodec.Decode(bytes.AsSpan(0, bytes.Length - 3), TestData.SampleCompiled);

        act.Should().Throw<InvalidDataException>().WithMessage("*damaged*");
    }

    [Fact]
    public void MessageJson_ReadsBackToAnEqualMessage()
    {
        foreach (var m in SampleMessages().Take(2000))
        {
            var back = MessageParser.Parse(m.ToJson()).Message!;
            back.Fingerprint.Should().Be(m.Fingerprint);
            back.TimestampTicks.Should().Be(m.TimestampTicks);
            back.MessageId.Should().Be(m.MessageId);
        }
    }

    [Fact]
    public void WriteJson_writes_one_buffer_of_json_lines_that_read_back_as_the_messages()
    {
        // What a store does with a batch: every message into one UTF-8 buffer, one line each, no string per message.
        var messages = SampleMessages().Take(2000).ToList();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using var writer = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        foreach (var m in messages)
        {
            writer.Reset(buffer);
            m.WriteJson(writer);
            writer.Flush();
            buffer.Write("\n"u8);
        }

        var lines = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().Equal(messages.Select(m => m.ToJson()), "WriteJson writes what ToJson returns");
        for (int i = 0; i < lines.Length; i++)
        {
            var back = MessageParser.Parse(lines[i]).Message!;
            back.Fingerprint.Should().Be(messages[i].Fingerprint);
            back.TimestampTicks.Should().Be(messages[i].TimestampTicks);
        }
    }
}
