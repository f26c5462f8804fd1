using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>The per-value memo of the in-order scorer: exact keys of every length, bounded size and probing.</summary>
public class MemoTableTests
{
    [Fact]
    public void KeysOfEveryLength_AreFoundWithTheirValue_AndNearMissesAreNot()
    {
        var memo = new MemoTable();
        var keys = new List<string>();
        for (int length = 0; length <= 70; length++)
        {
            for (int variant = 0; variant < 3; variant++)
            {
                // Same length, differing in one character at the start, the middle or the end.
                var chars = new string('a', length).ToCharArray();
                if (length > 0)
                {
                    chars[variant switch { 0 => 0, 1 => length / 2, _ => length - 1 }] = 'b';
                }

                string key = new(chars);
                if (!keys.Contains(key))
                {
                    keys.Add(key);
                    memo.Add(key, (ulong)keys.Count);
                }
            }
        }

        for (int i = 0; i < keys.Count; i++)
        {
            memo.TryGetValue(keys[i], out ulong value).Should().BeTrue(keys[i]);
            value.Should().Be((ulong)(i + 1));

            // With the hash given (a message's value carries it), by the same string object and by another one.
            memo.TryGetValue(keys[i], MemoTable.Hash(keys[i]), out value).Should().BeTrue(keys[i]);
            value.Should().Be((ulong)(i + 1));
            memo.TryGetValue(new string(keys[i].AsSpan()), MemoTable.Hash(keys[i]), out value).Should().BeTrue(keys[i]);
            value.Should().Be((ulong)(i + 1));
        }

        memo.TryGetValue(new string('c', 33), out _).Should().BeFalse();
        memo.TryGetValue("https://www.example.com/pricing", out _).Should().BeFalse();

        // A key with another key's hash is still not that key: the characters decide.
        memo.TryGetValue("https://www.example.com/pricing", MemoTable.Hash(keys[5]), out _).Should().BeFalse();
    }

    [Fact]
    public void A_StringValue_CarriesTheHashTheMemoFindsItBy_HoweverItIsMade()
    {
        const string Url = "https://www.example.com/pricing?utm_source=newsletter";
        var parsed = MessageParser.Parse(Encoding.UTF8.GetBytes(
            $$$$"""{"type":"page","messageId":"m1","userId":"u1","timestamp":"2026-01-01T00:00:00Z","properties":{"url":"{{{{Url}}}}","big":1e999,"nested":{"title":"VP Sales"}}}"""));
        var made = LeadMessage.Page("m2", "u1", DateTimeOffset.UnixEpoch, new Dictionary<string, object?> { ["url"] = Url });
        var values = new[]
        {
            parsed.Message!.Properties!.Get("url")!, // the JSON reader
            parsed.Message.Properties.Get("big")!, // a number too large for a double: kept as a string
            parsed.Message.Properties.Get("nested")!.Get("title")!,
            made.Properties!.Get("url")!, // a message made from a dictionary
            DataValue.FromString("Director"),
        };

        foreach (var v in values)
        {
            v.Kind.Should().Be(DataKind.String, v.Text);
            v.TextHash.Should().Be(MemoTable.Hash(v.Text), v.Text);
        }

        values[1].Text.Should().Be("1e999");
    }

    [Fact]
    public void TheMemo_HoldsAtMostMaxMemoValues_AndForgetsNothingItTook()
    {
        var memo = new MemoTable();
        for (int i = 0; i < FastPlan.MaxMemo + 500; i++)
        {
            memo.Add($"https://www.example.com/page-{i}", (ulong)i);
        }

        memo.Count.Should().BeLessThanOrEqualTo(FastPlan.MaxMemo);
        int found = 0;
        for (int i = 0; i < FastPlan.MaxMemo + 500; i++)
        {
            if (memo.TryGetValue($"https://www.example.com/page-{i}", out ulong v))
            {
                v.Should().Be((ulong)i);
                found++;
            }
        }

        found.Should().Be(memo.Count);
        found.Should().BeGreaterThan(FastPlan.MaxMemo - 100, "only keys past the bound or past the probe limit are left out");
    }

    [Fact]
    public void UrlsThatShareLongPrefixesAndSuffixes_AreAllRemembered()
    {
        // The canonical workload's URL shapes: they differ only in a number inside a long common text. A hash that
        // sampled a few windows put most of them on the same value, so page views missed the memo.
        string[] paths = ["/docs/api/v{k}", "/blog/post-{k}", "/case-studies/customer-{k}", "/integrations/app-{k}", "/features/feature-{k}"];
        string[] suffixes = ["", "?utm_source=newsletter", "?utm_source=google", "?utm_source=linkedin", "?utm_source=partner"];
        var urls = (from p in paths from k in Enumerable.Range(0, 50) from s in suffixes
                    select "https://www.example.com" + p.Replace("{k}", k.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) + s).ToList();
        var memo = new MemoTable();
        foreach (var url in urls)
        {
            memo.Add(url, (ulong)url.Length);
        }

        memo.Count.Should().Be(urls.Count);
        urls.Select(u => MemoTable.Hash(u)).Distinct().Count().Should().BeGreaterThan(urls.Count - 5, "distinct values hash apart");
        foreach (var url in urls)
        {
            memo.TryGetValue(url, out ulong v).Should().BeTrue(url);
            v.Should().Be((ulong)url.Length);
        }
    }

    [Fact]
    public void EveryCharacter_CountsInTheHash_AtEveryLength()
    {
        // Short keys take the scalar steps, keys of 8 characters or more (16 bytes) the AES rounds where the processor
        // has them: in both, changing any one character (the first, one in a middle block, one of the overlapping tail)
        // must change the hash, or keys that differ there would pile onto one probe run.
        for (int length = 1; length <= 72; length++)
        {
            string key = new('a', length);
            var hashes = new HashSet<int> { MemoTable.Hash(key) };
            for (int position = 0; position < length; position++)
            {
                var chars = key.ToCharArray();
                chars[position] = 'b';
                hashes.Add(MemoTable.Hash(new string(chars)));
            }

            hashes.Count.Should().BeGreaterThan(length - 1, $"the {length + 1} keys of length {length} hash apart (at most one collision)");
            MemoTable.Hash(("<" + key + ">").AsSpan(1, length)).Should().Be(MemoTable.Hash(key), "a span hashes as its string");
        }
    }
}
