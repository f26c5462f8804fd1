using CsCheck;
using LeadScoring.Engine;

namespace LeadScoring.Tests.Engine;

/// <summary>The timer queue: rows by due tick; only due rows pop, earliest first, ties by row; no steady-state allocation.</summary>
public sealed class TimerQueueTests
{
    [Fact]
    public void PopDue_ReturnsOnlyTheDueRows_EarliestFirst_TiesByRow()
    {
        var q = new TimerQueue();
        q.Schedule(5, 30);
        q.Schedule(1, 10);
        q.Schedule(9, 20);
        q.Schedule(2, 20);
        q.Schedule(7, 40);

        Span<int> due = stackalloc int[8];
        int n = q.PopDue(20, due);

        due[..n].ToArray().Should().Equal(1, 2, 9);
        q.Count.Should().Be(2);
        q.NextDue.Should().Be(30);
        q.Contains(9).Should().BeFalse();
        q.Contains(5).Should().BeTrue();
    }

    [Fact]
    public void PopDue_NothingDue_PopsNothing()
    {
        var q = new TimerQueue();
        q.Schedule(3, 100);

        var list = new List<int>();
        q.PopDue(99, list).Should().Be(0);
        list.Should().BeEmpty();
        q.Count.Should().Be(1);
        new TimerQueue().NextDue.Should().Be(long.MaxValue);
    }

    [Fact]
    public void PopDue_IntoASmallSpan_LeavesTheRestScheduled()
    {
        var q = new TimerQueue();
        for (int row = 0; row < 5; row++)
        {
            q.Schedule(row, 10 - row);
        }

        Span<int> two = stackalloc int[2];
        q.PopDue(100, two).Should().Be(2);
        two.ToArray().Should().Equal(4, 3);
        q.Count.Should().Be(3);

        var rest = new List<int>();
        q.PopDue(100, rest).Should().Be(3);
        rest.Should().Equal(2, 1, 0);
    }

    [Fact]
    public void Reschedule_MovesARow_EarlierOrLater()
    {
        var q = new TimerQueue();
        q.Schedule(1, 10);
        q.Schedule(2, 20);
        q.Schedule(3, 30);

        q.Reschedule(3, 5).Should().BeTrue();
        q.Reschedule(1, 25).Should().BeTrue();
        q.Reschedule(4, 1).Should().BeFalse();
        q.Contains(4).Should().BeFalse();
        q.TryGetDue(1, out long due).Should().BeTrue();
        due.Should().Be(25);

        var all = new List<int>();
        q.PopDue(long.MaxValue, all);
        all.Should().Equal(3, 2, 1);
    }

    [Fact]
    public void Schedule_ARowAlreadyScheduled_MovesIt_NeverTwice()
    {
        var q = new TimerQueue();
        q.Schedule(1, 10);
        q.Schedule(1, 50);

        q.Count.Should().Be(1);
        var all = new List<int>();
        q.PopDue(40, all).Should().Be(0);
        q.PopDue(50, all).Should().Be(1);
        all.Should().Equal(1);
    }

    [Fact]
    public void Remove_UnschedulesOnlyThatRow()
    {
        var q = new TimerQueue();
        q.Schedule(1, 10);
        q.Schedule(2, 20);
        q.Schedule(3, 30);

        q.Remove(1).Should().BeTrue();
        q.Remove(1).Should().BeFalse();
        q.Remove(1000).Should().BeFalse();

        var all = new List<int>();
        q.PopDue(long.MaxValue, all);
        all.Should().Equal(2, 3);
    }

    [Fact]
    public void Rows_BeyondTheInitialCapacity_Grow()
    {
        var q = new TimerQueue(capacity: 4);
        for (int row = 999; row >= 0; row--)
        {
            q.Schedule(row, row % 7);
        }

        var all = new List<int>();
        q.PopDue(long.MaxValue, all).Should().Be(1000);
        all.Should().Equal(Enumerable.Range(0, 1000).OrderBy(r => r % 7).ThenBy(r => r));
    }

    [Fact]
    public void Property_AgreesWithASortedReference()
    {
        // Operations: (kind, row, due): 0 schedule, 1 reschedule, 2 remove, 3 pop due at `due`.
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 40], Gen.Long[0, 100]).Array[1, 200].Sample(ops =>
        {
            var q = new TimerQueue(capacity: 2);
            var reference = new Dictionary<int, long>();
            var popped = new List<int>();
            foreach (var (kind, row, due) in ops)
            {
                switch (kind)
                {
                    case 0:
                        q.Schedule(row, due);
                        reference[row] = due;
                        break;
                    case 1:
                        q.Reschedule(row, due).Should().Be(reference.ContainsKey(row));
                        if (reference.ContainsKey(row))
                        {
                            reference[row] = due;
                        }

                        break;
                    case 2:
                        q.Remove(row).Should().Be(reference.Remove(row));
                        break;
                    default:
                        popped.Clear();
                        q.PopDue(due, popped);
                        var expected = reference.Where(kv => kv.Value <= due).OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).Select(kv => kv.Key).ToList();
                        popped.Should().Equal(expected);
                        foreach (int r in expected)
                        {
                            reference.Remove(r);
                        }

                        break;
                }

                q.Count.Should().Be(reference.Count);
                q.NextDue.Should().Be(reference.Count == 0 ? long.MaxValue : reference.Values.Min());
            }
        });
    }

    [Fact]
    public void SteadyState_AllocatesNothing()
    {
        var q = new TimerQueue(capacity: 1024);
        Span<int> due = stackalloc int[64];
        for (int row = 0; row < 1000; row++)
        {
            q.Schedule(row, row);
        }

        void Churn(Span<int> buffer)
        {
            for (long now = 0; now < 5000; now += 10)
            {
                int n = q.PopDue(now, buffer);
                for (int i = 0; i < n; i++)
                {
                    q.Schedule(buffer[i], now + 1000 + (buffer[i] % 13));
                }

                q.Reschedule((int)(now % 1000), now + 500);
                q.Remove((int)((now * 7) % 1000));
                q.Schedule((int)((now * 7) % 1000), now + 700);
            }
        }

        Churn(due);

        // The least of up to three measured rounds: under a parallel test run the runtime can allocate on this thread
        // once (tiering, type loads); a cost per operation would show in every round.
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Churn(due);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        least.Should().Be(0);
        q.Count.Should().Be(1000);
    }
}
