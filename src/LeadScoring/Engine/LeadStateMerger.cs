namespace LeadScoring.Engine;

/// <summary>
/// Folds one lead's snapshot into another's when two leads are linked after both have compacted history
/// beyond the reorder horizon. Messages that old are no longer kept, so this cannot replay them in order:
/// counters add up, award times and windows interleave, traits the survivor lacks are taken over, and the
/// higher stage wins. Within the horizon (and always with an unbounded horizon) merges replay exactly.
/// </summary>
internal static class LeadStateMerger
{
    public static void MergeInto(LeadState target, LeadState other)
    {
        if (other.LastTicks > target.LastTicks)
        {
            target.LastTicks = other.LastTicks;
            target.LastMessageId = other.LastMessageId;
        }

        if (other.UserIdTicks > target.UserIdTicks)
        {
            (target.UserId, target.UserIdTicks, target.UserIdMessageId) = (other.UserId, other.UserIdTicks, other.UserIdMessageId);
        }

        target.AnonymousId ??= other.AnonymousId;
        target.GroupId ??= other.GroupId;
        target.MessageCount += other.MessageCount;
        if (other.Traits is not null)
        {
            target.Traits ??= new Dictionary<string, Messages.DataValue>(StringComparer.Ordinal);
            foreach (var (k, v) in other.Traits)
            {
                target.Traits.TryAdd(k, v);
            }
        }

        for (int i = 0; i < target.Counts.Length; i++)
        {
            target.Counts[i] += other.Counts[i];
        }

        for (int i = 0; i < target.OccurredLast.Length; i++)
        {
            target.OccurredLast[i] = Math.Max(target.OccurredLast[i], other.OccurredLast[i]);
        }

        if (other.AwardTimes is not null)
        {
            for (int i = 0; i < other.AwardTimes.Length; i++)
            {
                if (other.AwardTimes[i] is { } times)
                {
                    var list = target.AwardTimes![i] ??= [];
                    list.AddRange(times);
                    list.Sort();
                }
            }
        }

        if (other.PerValue is not null)
        {
            for (int i = 0; i < other.PerValue.Length; i++)
            {
                if (other.PerValue[i] is { } windows)
                {
                    var dict = target.PerValue![i] ??= new(StringComparer.OrdinalIgnoreCase);
                    foreach (var (k, w) in windows)
                    {
                        if (dict.TryGetValue(k, out var mine))
                        {
                            mine.Awards += w.Awards;
                        }
                        else
                        {
                            dict[k] = w.Clone();
                        }
                    }
                }
            }
        }

        // Windows: keep the most recent timestamps of both (the ring holds the latest ones).
        var rings = target.RingWritten.Length;
        for (int r = 0; r < rings; r++)
        {
            // Rings are laid out contiguously; merging exactly would need the sizes, which the snapshot does not
            // carry. Taking the later writer's ring keeps a window that is never too permissive for recent awards.
            if (other.RingWritten[r] > target.RingWritten[r])
            {
                target.RingWritten[r] = other.RingWritten[r];
            }
        }

        if (other.History is { Count: > 0 })
        {
            var history = target.History ??= [];
            history.AddRange(other.History);
            history.Sort((a, b) => a.At.CompareTo(b.At));
        }

        target.Stage = Math.Max(target.Stage, other.Stage);
    }
}
