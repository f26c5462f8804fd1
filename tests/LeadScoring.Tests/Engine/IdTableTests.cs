using LeadScoring.Engine;

namespace LeadScoring.Tests.Engine;

/// <summary><see cref="IdTable"/>: lead ids to rows, by string and by span, through growth and re-pointing.</summary>
public class IdTableTests
{
    private static int FindSpan(IdTable table, string key)
    {
        // The span lives in a larger buffer, as the JSON fast path's does.
        var buffer = ("<<" + key + ">>").AsSpan(2, key.Length);
        return table.Find(buffer, IdTable.Hash(buffer));
    }

    /// <summary>Ids prone to collide: one length, differing in one character at every position, and every tail length.</summary>
    private static List<string> TrickyIds()
    {
        var ids = new List<string> { "", "a", "b", "ab", "ba", "\0", "\0\0", "é", "日本", "😀", "u-1", "U-1", "u-1 " };
        const string Base = "lead-0000000000000";
        for (int position = 0; position < Base.Length; position++)
        {
            foreach (char c in "0123456789abcdefXYZ-_\u00e9")
            {
                var chars = Base.ToCharArray();
                chars[position] = c;
                ids.Add(new string(chars));
            }
        }

        for (int length = 1; length <= 40; length++)
        {
            ids.Add(new string('x', length));
            ids.Add(new string('x', length - 1) + "y");
            ids.Add("y" + new string('x', length - 1));
        }

        return ids.Distinct(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void EveryId_IsFound_ByStringAndBySpan_AndNoOtherIs()
    {
        var table = new IdTable();
        var ids = TrickyIds();
        for (int i = 0; i < ids.Count; i++)
        {
            table.Find(ids[i]).Should().Be(-1, $"'{ids[i]}' was not added yet");
            table.Set(ids[i], i);
            table.Count.Should().Be(i + 1);
        }

        for (int i = 0; i < ids.Count; i++)
        {
            table.Find(ids[i]).Should().Be(i, ids[i]);
            FindSpan(table, ids[i]).Should().Be(i, ids[i]);
            table.Find(new string(ids[i].AsSpan())).Should().Be(i, "by content, not by reference");
            table.Find(ids[i], IdTable.Hash(ids[i])).Should().Be(i, ids[i]);
            table.Find(new string(ids[i].AsSpan()), IdTable.Hash(ids[i])).Should().Be(i, "with the hash given: by content, not by reference");
        }

        foreach (string absent in new[] { "lead-000000000000", "lead-00000000000000", "lead-000000000000g", "c", "xx\0", "U-1 ", new string('x', 41), "le" })
        {
            table.Find(absent).Should().Be(-1, absent);
            FindSpan(table, absent).Should().Be(-1, absent);
        }
    }

    [Fact]
    public void Find_WithAHashGiven_ComparesTheIds_NotOnlyTheHashes()
    {
        // A caller hands over a hash it worked out before (a message carries its user id's): an entry with that hash
        // and another id must not be taken for the id, whether the strings are other objects or not.
        var table = new IdTable();
        var ids = TrickyIds();
        for (int i = 0; i < ids.Count; i++)
        {
            table.Set(ids[i], i);
        }

        for (int i = 0; i < ids.Count; i++)
        {
            string other = ids[(i + 1) % ids.Count];
            table.Find(other + "?", IdTable.Hash(ids[i])).Should().Be(-1, $"'{other}?' has not the id of row {i}, only its hash");
            table.Find(other, IdTable.Hash(ids[i])).Should().NotBe(i, $"'{other}' is not '{ids[i]}'");
        }
    }

    [Fact]
    public void Hash_OfASpan_EqualsTheHashOfItsString()
    {
        foreach (string id in TrickyIds())
        {
            IdTable.Hash(("[" + id + "]").AsSpan(1, id.Length)).Should().Be(IdTable.Hash(id));
        }
    }

    [Fact]
    public void Set_RepointsAnExistingId_WithoutAddingIt()
    {
        var table = new IdTable();
        var ids = TrickyIds();
        for (int i = 0; i < ids.Count; i++)
        {
            table.Set(ids[i], i);
        }

        // Re-point every other id, as a merge points an absorbed lead's ids to the survivor.
        for (int i = 0; i < ids.Count; i += 2)
        {
            table.Set(new string(ids[i].AsSpan()), 1_000_000 + i);
        }

        table.Count.Should().Be(ids.Count);
        for (int i = 0; i < ids.Count; i++)
        {
            int expected = i % 2 == 0 ? 1_000_000 + i : i;
            table.Find(ids[i]).Should().Be(expected, ids[i]);
            FindSpan(table, ids[i]).Should().Be(expected, ids[i]);
        }
    }

    [Fact]
    public void Growth_KeepsEveryId_ThroughManyResizes()
    {
        var table = new IdTable();
        const int N = 100_000;
        for (int i = 0; i < N; i++)
        {
            table.Set($"u-{i}", i);
            if ((i & (i - 1)) == 0)
            {
                // At every power of two, around a resize: everything so far is still there.
                for (int j = 0; j <= i; j++)
                {
                    table.Find($"u-{j}").Should().Be(j);
                }
            }
        }

        table.Count.Should().Be(N);
        for (int i = 0; i < N; i++)
        {
            string id = $"u-{i}";
            if (table.Find(id) != i || FindSpan(table, id) != i)
            {
                Assert.Fail($"'{id}' maps to {table.Find(id)} by string and {FindSpan(table, id)} by span, not {i}");
            }
        }

        for (int i = N; i < N + 10_000; i++)
        {
            if (table.Find($"u-{i}") != -1)
            {
                Assert.Fail($"'u-{i}' was never added");
            }
        }

        // Re-pointing after growth.
        table.Set("u-77", -5);
        table.Find("u-77").Should().Be(-5);
        table.Count.Should().Be(N);
    }

    [Fact]
    public void Hash_SpreadsSimilarIds_AcrossBuckets()
    {
        // 10,000 ids of one length, differing in a few characters, into 16,384 buckets: a uniform hash fills
        // about 7,500 of them; a weak one (e.g. ignoring a part of the id) far fewer.
        foreach (string format in new[] { "lead-{0:D5}", "{0:D5}-lead-of-some-length", "u{0:D4}" })
        {
            var buckets = new HashSet<int>();
            for (int i = 0; i < 10_000; i++)
            {
                buckets.Add(IdTable.Hash(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, i)) & 16_383);
            }

            buckets.Count.Should().BeGreaterThan(7_000, format);
        }
    }
}
