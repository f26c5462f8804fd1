using LeadScoring.Engine;
using LeadScoring.Tests.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static LeadScoring.Tests.Shared.Hosting.ClockHost;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 11, the host's stage clock: driven by the host's <see cref="TimeProvider"/> (here a fake one), it commits and
/// tells the moves leads make in silence at its ticks; the reader (and so the WebApi's <c>GET /leads</c>) sees them.
/// </summary>
public sealed class StageClockHostTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(60)]
    public async Task SixtyDaysWithNoMessage_TheHandlerIsToldMqlToLead_AtTheExitTick_Once(int daysPerStep)
    {
        var time = new FakeTimeProvider(Start);
        var stages = new StageRecorder();
        using var host = Build(time, stages);
        await host.StartAsync();
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();
        var demo = DemoOf("u1", Demo);
        await WriteAsync(host, 1, demo);
        await Until(() => stages.Calls.Count == 1, "lead→mql told");
        (await reader.InStageAsync("mql", 10)).Select(r => r.LeadId).Should().Equal("u1");

        for (int day = 1 + daysPerStep; day <= 61; day += daysPerStep)
        {
            // Noon on that day: the clock has the tick of midnight to process.
            time.Advance(TimeSpan.FromDays(daysPerStep));
            await WaitForClockAsync(host, October(day));
            stages.Moves.Should().HaveCount(day < 22 ? 1 : 2, $"on {October(day):O}");
        }

        var exit = October(22);
        stages.Moves.Should().Equal(("u1", "lead", "mql", Demo), ("u1", "mql", "lead", exit));
        stages.Calls[1].MessageId.Should().BeNull("no message caused it");
        stages.Calls[1].IdempotencyKey.Should().Be($"u1|mql|lead|{exit.UtcTicks}|1");

        // The store's history has the move at its tick; the reader sees the lead out of mql.
        (await reader.GetHistoryAsync("u1")).Select(h => (h.At, h.Stage, h.MessageId)).Should().Equal((Demo, "mql", demo.MessageId), (exit, "lead", null));
        (await reader.InStageAsync("mql", 10)).Should().BeEmpty();
        (await reader.InStageAsync("lead", 10)).Select(r => r.LeadId).Should().Equal("u1");
        (await reader.GetLeadAsync("u1"))!.StageHistory.Should().Equal(new StageMove("lead", "mql", Demo), new StageMove("mql", "lead", exit));
        await host.StopAsync();
    }

    [Fact]
    public async Task AMessageAtTheTick_IsAppliedFirst_AndTheLeadStaysInMql()
    {
        var time = new FakeTimeProvider(Start);
        var stages = new StageRecorder();
        using var host = Build(time, stages);
        await host.StartAsync();
        await WriteAsync(host, 1, DemoOf("u1", Demo));

        // A second demo at exactly midnight 22 October, sent before the clock reaches that tick.
        time.SetUtcNow(October(21).AddHours(12));
        await WaitForClockAsync(host, October(21));
        await WriteAsync(host, 2, DemoOf("u1", October(22)));
        time.SetUtcNow(October(22).AddHours(12));
        await WaitForClockAsync(host, October(22));

        stages.Moves.Should().Equal(("u1", "lead", "mql", Demo));
        await host.StopAsync();
    }

    [Fact]
    public async Task AReloadChangingStageCheckHours_TakesEffectFromTheNextTick()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("ls-clock-").FullName, "model.json");
        File.WriteAllText(path, ModelJson("1"));
        var time = new FakeTimeProvider(Start);
        var stages = new StageRecorder();
        using var host = Build(time, stages, o => (o.ModelJson, o.ModelPath) = (null, path));
        await host.StartAsync();
        await WriteAsync(host, 1, DemoOf("u1", Demo));
        time.SetUtcNow(October(20).AddHours(3));
        await WaitForClockAsync(host, October(20));

        // At 03:00 on 20 October the clock turns to every 6 hours: its next tick is 06:00, and the lead leaves at noon
        // on 21 October (the contract's example) instead of midnight on the 22nd.
        File.WriteAllText(path, ModelJson("2", stageCheckHours: 6));
        var models = host.Services.GetRequiredService<ModelProvider>();
        await Until(() => models.Current.Model.Version == "2", "the model reloaded");
        time.SetUtcNow(October(20).AddHours(7));
        await WaitForClockAsync(host, October(20).AddHours(6));
        time.SetUtcNow(October(21).AddHours(13));
        await WaitForClockAsync(host, October(21).AddHours(12));

        stages.Moves.Should().Equal(("u1", "lead", "mql", Demo), ("u1", "mql", "lead", October(21).AddHours(12)));
        stages.Calls[^1].ModelVersion.Should().Be("2");
        await host.StopAsync();
    }

    [Fact]
    public async Task ClockOff_NoTickIsProcessed_AndNothingIsTold()
    {
        var time = new FakeTimeProvider(Start);
        var stages = new StageRecorder();
        using var host = Build(time, stages, o => o.ModelJson = ModelJson(stageCheckHours: 0));
        await host.StartAsync();
        await WriteAsync(host, 1, DemoOf("u1", Demo));
        time.Advance(TimeSpan.FromDays(60));

        // The reader still re-evaluates at "now" (spec 3.4, at T); no clock move is committed or told.
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();
        (await reader.GetLeadAsync("u1"))!.Stage.Should().Be("lead");
        host.Services.GetRequiredService<LeadScoringStatus>().StageClock.Should().BeNull();
        await host.StopAsync();
        stages.Moves.Should().Equal(("u1", "lead", "mql", Demo));
    }
}
