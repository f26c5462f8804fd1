using LeadScoring.Hosting;
using LeadScoring.Tests.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static LeadScoring.Tests.Shared.Hosting.ClockHost;

namespace LeadScoring.Sqlite.Tests;

/// <summary>
/// Issue 11, the stage clock across restarts of a host over one SQLite file: the last tick processed is stored with
/// its moves, a move committed but not told is told after the restart (once, and stored once), and the ticks missed
/// while the host was down are caught up in order on start.
/// </summary>
public sealed class StageClockRestartTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Database => "Data Source=" + _folder.File();

    [Fact]
    public async Task KilledBetweenATicksCommitAndItsNotification_TheMoveIsToldAfterTheRestart_AndStoredOnce()
    {
        var time = new FakeTimeProvider(Start);
        var exit = October(22);

        // The first host commits the tick of 22 October, then dies before its handler acknowledges the move.
        var first = new StageRecorder { Fail = a => a.To == "lead" };
        using (var host = Build(time, first, builder: b => b.UseSqlite(Database)))
        {
            await host.StartAsync();
            await WriteAsync(host, 1, DemoOf("u1", Demo));
            time.SetUtcNow(exit.AddHours(12));
            await WaitForClockAsync(host, exit);
            first.Moves.Should().Equal(("u1", "lead", "mql", Demo));
            await host.StopAsync();
        }

        await using (var store = await StoreKit.OpenAsync(_folder.File()))
        {
            (await store.GetStageClockAsync(CancellationToken.None)).Should().Be(exit);
            (await store.GetHistoryAsync("u1", CancellationToken.None)).Select(h => (h.At, h.Stage)).Should().Equal((Demo, "mql"), (exit, "lead"));
            (await store.LoadPendingNotificationsAsync(CancellationToken.None)).Select(n => n.Key).Should().Equal($"u1|mql|lead|{exit.UtcTicks}|1");
        }

        // Three days later a new host over the same file: the pending move is told, once, and not stored again.
        time.Advance(TimeSpan.FromDays(3));
        var second = new StageRecorder();
        using (var host = Build(time, second, builder: b => b.UseSqlite(Database)))
        {
            await host.StartAsync();
            second.Moves.Should().Equal(("u1", "mql", "lead", exit));
            host.Services.GetRequiredService<LeadScoringStatus>().StageClock.Should().Be(October(25));
            time.Advance(TimeSpan.FromDays(5));
            await WaitForClockAsync(host, October(30));
            second.Moves.Should().Equal(("u1", "mql", "lead", exit));
            await host.StopAsync();
        }

        await using (var store = await StoreKit.OpenAsync(_folder.File()))
        {
            (await store.GetHistoryAsync("u1", CancellationToken.None)).Select(h => (h.At, h.Stage)).Should().Equal((Demo, "mql"), (exit, "lead"));
            (await store.LoadPendingNotificationsAsync(CancellationToken.None)).Should().BeEmpty();
            (await store.GetStageClockAsync(CancellationToken.None)).Should().Be(October(30));
        }
    }

    [Fact]
    public async Task StoppedForTenDays_OnStartEveryMissedTickIsCaughtUp_InOrder_EachMoveAtItsOwnTick()
    {
        // Ten leads, a demo a day from 1 October: they leave mql on ten days in a row, from 22 October.
        var time = new FakeTimeProvider(October(10).AddHours(12));
        var demos = Enumerable.Range(0, 10).Select(i => DemoOf($"u{i}", Demo.AddDays(i))).ToArray();
        var first = new StageRecorder();
        using (var host = Build(time, first, builder: b => b.UseSqlite(Database)))
        {
            await host.StartAsync();
            await WriteAsync(host, demos.Length, demos);
            time.SetUtcNow(October(21).AddHours(12));
            await WaitForClockAsync(host, October(21));
            await host.StopAsync();
        }

        first.Moves.Should().OnlyContain(m => m.To == "mql").And.HaveCount(10);

        // Down from 21 October at noon to 31 October at noon: ten ticks missed, each with one lead leaving mql.
        time.Advance(TimeSpan.FromDays(10));
        var second = new StageRecorder();
        using (var host = Build(time, second, builder: b => b.UseSqlite(Database)))
        {
            await host.StartAsync();

            // Caught up on start, before anything else: every tick, in order, each move at its own tick.
            second.Moves.Should().Equal(Enumerable.Range(0, 10).Select(i => ($"u{i}", "mql", "lead", October(22 + i))));
            host.Services.GetRequiredService<LeadScoringStatus>().StageClock.Should().Be(October(31));
            var reader = host.Services.GetRequiredService<ILeadScoreReader>();
            for (int i = 0; i < 10; i++)
            {
                (await reader.GetHistoryAsync($"u{i}")).Select(h => (h.At, h.Stage)).Should().Equal((Demo.AddDays(i), "mql"), (October(22 + i), "lead"));
            }

            (await reader.InStageAsync("mql", 100)).Should().BeEmpty();
            await host.StopAsync();
        }
    }
}
