using System.Security.Cryptography;
using System.Text;
using LeadScoring.Benchmarks.Canonical;
using LeadScoring.Messages;

namespace LeadScoring.Cli.Tests;

/// <summary><c>leadscore bench</c>: the whole-process runner of the canonical workload, and its generator.</summary>
public sealed class BenchCommandTests
{
    private const string AsOf = "2025-07-01T00:00:00Z";

    [Fact]
    public void Generating_20000_events_writes_the_canonical_files_and_bench_prints_the_section_7_checksum()
    {
        using var dir = new TempDir();

        var generated = CliRunner.Run("bench", "--generate", dir.Path, "--event-count", "20000");

        generated.ExitCode.Should().Be(0, generated.Stderr);
        generated.Stderr.Should().BeEmpty();
        Sha256(dir.File("model.json")).Should().Be("396bdfafaebe3dab340ca0cb956840932dd738163539b4084cca7c7484fcede3");
        Sha256(dir.File("messages.jsonl")).Should().Be("25da67c2131c12b86f2d8cf0e5849827f9e9474dcc586b774c8a66d47e8b2dda");
        generated.Stdout.Should().Contain("120000 lines").And.Contain("24723046 bytes").And.Contain("(canonical-workload.md §3)");

        var run = CliRunner.Run("bench", "--model", dir.File("model.json"), "--events", dir.File("messages.jsonl"), "--as-of", AsOf);

        run.ExitCode.Should().Be(0, run.Stderr);
        run.Stderr.Should().BeEmpty();
        var lines = run.StdoutLines;
        lines[0].Should().Be("checksum=0xB494A8F2A32A010B sum=921296 mql(>=50)=362 min=-105 max=132");
        lines[1].Should().Be("messages=120000 rejected=0 ignored=0 duplicates=0 late=0 leads=100000 score=total as-of=2025-07-01T00:00:00Z");
        lines.Skip(2).Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]).Should().Equal("time", "throughput", "memory", "lead-state");
        lines[2].Should().MatchRegex(@"^time: model-load=\d+ ms parse\+score=\d+ ms output=\d+ ms memory-measurement=\d+ ms total=\d+ ms");
        lines[3].Should().MatchRegex(@"^throughput: \d+ messages/s parse\+score \(\d+ ns per message\)$");
        lines[4].Should().MatchRegex(@"^memory: peak-working-set=[\d.]+ MiB gc-heap=[\d.]+ MiB allocated=[\d.]+ MiB gc-count gen0=\d+ gen1=\d+ gen2=\d+ gc-pause=\d+ ms");
        lines[5].Should().MatchRegex(@"^lead-state: -?\d+ bytes per lead \(-?\d+ bytes for 100000 leads");
    }

    [Fact]
    public void Rejected_lines_are_reported_with_their_line_number_and_reason_and_the_other_lines_still_count()
    {
        using var dir = new TempDir();
        string model = dir.Write("model.json", CanonicalWorkload.ModelJson);
        string longUrl = new('x', 1_100_000);
        string[] lines =
        [
            """{"type":"identify","messageId":"i0","userId":"L00000","timestamp":"2024-12-31T23:59:59Z","traits":{"jobTitle":"CEO","companySize":760,"industry":"logistics","country":"AU","emailDomain":"company16692.com"}}""",
            """{"type":"track","messageId":"e1","userId":"L00000","timestamp":"2025-01-01T00:00:10Z","event":"Email Opened"}""",
            """{"type":"track","userId":""",
            "",
            "{\"type\":\"page\",\"messageId\":\"e2\",\"userId\":\"L00000\",\"timestamp\":\"2025-01-01T00:00:20Z\",\"properties\":{\"url\":\"" + longUrl + "\"}}",
            """{"type":"page","messageId":"e3","userId":"L00000","timestamp":"2025-01-02T00:00:00Z","properties":{"url":"https://www.example.com/pricing"}}""",
            """{"type":"track","messageId":"e4","userId":"L00001","timestamp":"2025-01-02T00:00:01Z"}""",
            """{"type":"track","messageId":"e5","userId":"L00000","timestamp":"2025-01-03T00:00:00Z","event":"Demo Requested"}""",
        ];
        // The last line has no final line break.
        string events = dir.Write("messages.jsonl", string.Join("\n", lines));

        var run = CliRunner.Run("bench", "-m", model, "-e", events, "--as-of", AsOf);

        run.ExitCode.Should().Be(0, run.Stderr);
        run.StderrLines.Should().HaveCount(3);
        run.StderrLines[0].Should().StartWith("messages.jsonl: line 3: rejected: not valid JSON");
        run.StderrLines[1].Should().Be($"messages.jsonl: line 5: rejected: the line is longer than {Messages.MessageParser.MaxMessageBytes} bytes");
        run.StderrLines[2].Should().Be("messages.jsonl: line 7: rejected: a track message without 'event'");
        // L00000: fit 15 (F05 size 760, F11 AU); Email Opened +1, /pricing +10 (a CEO is not SENIOR), Demo Requested +40.
        run.StdoutLines[0].Should().Be(CanonicalWorkload.Describe([66])).And.Be("checksum=0xAF63FF4C86022805 sum=66 mql(>=50)=1 min=66 max=66");
        run.StdoutLines[1].Should().StartWith("messages=7 rejected=3 ignored=0 duplicates=0 late=0 leads=1 score=total ");
    }

    [Fact]
    public void A_model_without_a_total_score_is_summed_over_its_last_score_and_says_so()
    {
        using var dir = new TempDir();
        string model = dir.Write("model.json", """{"name":"m","version":"1","scores":[{"name":"fit"},{"name":"engagement"}],"rules":[{"id":"open","score":"engagement","points":3,"on":"Email Opened"}]}""");
        string events = dir.Write("messages.jsonl",
        [
            """{"type":"track","messageId":"1","userId":"a","timestamp":"2025-01-01T00:00:00Z","event":"Email Opened"}""",
            """{"type":"track","messageId":"2","userId":"a","timestamp":"2025-01-01T00:00:01Z","event":"Email Opened"}""",
            """{"type":"track","messageId":"3","userId":"b","timestamp":"2025-01-01T00:00:02Z","event":"Email Opened"}""",
            """{"type":"track","messageId":"3","userId":"b","timestamp":"2025-01-01T00:00:02Z","event":"Email Opened"}""",
            """{"type":"screen","messageId":"4","userId":"b","timestamp":"2025-01-01T00:00:03Z","name":"Home"}""",
        ]);

        var run = CliRunner.Run("bench", "-m", model, "-e", events, "--as-of", AsOf);

        run.ExitCode.Should().Be(0, run.Stderr);
        run.StderrLines.Should().Equal("note: the model has no 'total' score; the checksum is over its last score, 'engagement'");
        run.StdoutLines[0].Should().Be(CanonicalWorkload.Describe([6, 3]));
        run.StdoutLines[1].Should().StartWith("messages=5 rejected=0 ignored=1 duplicates=1 late=0 leads=2 score=engagement ");
    }

    [Theory]
    [InlineData("bench needs --model and --events (or --generate DIR).", "bench", "--model", "m.json")]
    [InlineData("--generate writes a workload; it takes no --model, --events or --as-of.", "bench", "--generate", "out", "--model", "m.json")]
    [InlineData("--event-count goes with --generate.", "bench", "-m", "m.json", "-e", "e.jsonl", "--event-count", "5")]
    public void Wrong_combinations_of_options_exit_with_2_and_the_usage(string error, params string[] args)
    {
        var result = CliRunner.Run(args);

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.StderrLines[0].Should().Be("error: " + error);
        result.Stderr.Should().Contain("Usage:").And.Contain("bench [options]").And.Contain("--generate");
    }

    [Fact]
    public void A_missing_events_file_exits_with_3_and_a_bad_as_of_with_2()
    {
        using var dir = new TempDir();
        string model = dir.Write("model.json", CanonicalWorkload.ModelJson);

        var missing = CliRunner.Run("bench", "-m", model, "-e", dir.File("nope.jsonl"));
        missing.ExitCode.Should().Be(3);
        missing.Stderr.Should().Contain("nope.jsonl: no such file");

        var badAsOf = CliRunner.Run("bench", "-m", model, "-e", model, "--as-of", "yesterday");
        badAsOf.ExitCode.Should().Be(2);
        badAsOf.Stderr.Should().Contain("--as-of 'yesterday'");
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    [Fact]
    public void The_scanner_hands_over_each_line_once_across_reads_of_any_size()
    {
        // Lines of many lengths, some blank or with \r, split across the 4 MiB buffer: every message counts once.
        var text = new StringBuilder();
        int expected = 0;
        for (int i = 0; i < 60_000; i++)
        {
            text.Append('{').Append(new string(' ', i % 97)).Append('}').Append(i % 3 == 0 ? "\r\n" : "\n");
            expected++;
            if (i % 1000 == 0)
            {
                text.Append('\n');
            }
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
        var scanner = new JsonLinesFramer(stream);
        int count = 0;
        while (scanner.MoveNext())
        {
            scanner.Kind.Should().Be(JsonFrameKind.Line);
            var line = scanner.Current;
            line[0].Should().Be((byte)'{');
            line[^1].Should().Be((byte)'}');
            count++;
        }

        count.Should().Be(expected);
        scanner.LineNumber.Should().Be(60_000 + 60);
    }
}
