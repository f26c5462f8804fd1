using LeadScoring.Messages;

namespace LeadScoring.Orleans.Tests;

/// <summary>The identity directory's map: a component's partition depends on its ids only, not on arrival order.</summary>
public sealed class IdentityMapTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Linked_ids_share_the_partition_of_their_smallest_id_in_any_order()
    {
        LeadMessage[] messages =
        [
            LeadMessage.Track("m1", "u-9", "Page Viewed", T),
            LeadMessage.Track("m2", "u-2", "Page Viewed", T),
            LeadMessage.Track("m3", "u-9", "Signed Up", T, anonymousId: "anon-1"),
            LeadMessage.Track("m4", "u-2", "Signed Up", T, anonymousId: "anon-1"),
            LeadMessage.Track("m5", "u-7", "Page Viewed", T),
        ];
        var forward = new IdentityMap(16);
        var backward = new IdentityMap(16);
        foreach (var m in messages)
        {
            forward.Add(m);
        }

        foreach (var m in messages.Reverse())
        {
            backward.Add(m);
        }

        int linked = IdentityMap.Home("anon-1", 16);   // "anon-1" < "u-2" < "u-9" (ordinal)
        foreach (var id in new[] { "u-9", "u-2", "anon-1" })
        {
            forward.PartitionOf(id).Should().Be(linked);
            backward.PartitionOf(id).Should().Be(linked);
            forward.Members(id).Should().BeEquivalentTo(["u-9", "u-2", "anon-1"]);
        }

        forward.PartitionOf("u-7").Should().Be(IdentityMap.Home("u-7", 16));
        forward.PartitionOf("never-seen").Should().Be(IdentityMap.Home("never-seen", 16));
    }

    [Fact]
    public void Home_is_stable_across_processes()
    {
        // FNV-1a: fixed values (string.GetHashCode would differ from one process to the next).
        IdentityMap.Home("", 1_000_003).Should().Be((int)(2166136261u % 1_000_003u));
        IdentityMap.Home("a", 16).Should().Be((int)(unchecked((2166136261u ^ 'a') * 16777619u) % 16u));
    }
}
