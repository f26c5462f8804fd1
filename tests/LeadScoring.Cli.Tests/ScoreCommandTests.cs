using System.Text;
using System.Text.Json;

namespace LeadScoring.Cli.Tests;

public sealed class ScoreCommandTests(SampleScoreFixture sample) : IClassFixture<SampleScoreFixture>
{
    private static readonly string[] ResultKeys = ["leadId", "asOf", "scores", "grade", "persona", "stage", "stageHistory"];

    [Fact]
    public void Scoring_the_sample_prints_one_json_object_per_line_for_each_of_its_640_leads_and_exits_with_0()
    {
        var result = sample.Plain;

        result.ExitCode.Should().Be(0);
        result.Stdout.Should().EndWith("\n");
        result.Stdout.Should().NotContain("\r");
        var lines = result.StdoutLines;
        lines.Should().HaveCount(TestData.SampleLeads);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            doc.RootElement.ValueKind.Should().Be(JsonValueKind.Object);
        }
    }

    [Fact]
    public void Scoring_the_sample_orders_the_leads_by_id_in_ordinal_order_each_once()
    {
        var ids = sample.Plain.StdoutLines.Select(LeadIdOf).ToList();

        ids.Should().OnlyHaveUniqueItems();
        ids.Should().Equal(ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_result_has_exactly_the_contract_keys_in_the_contract_order()
    {
        foreach (var line in sample.Plain.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            doc.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal(ResultKeys, line);
        }
    }

    [Fact]
    public void Every_result_is_as_of_the_given_instant_with_the_model_scores_and_stage_moves_no_later()
    {
        var asOf = DateTimeOffset.Parse(TestData.AsOf, System.Globalization.CultureInfo.InvariantCulture);
        foreach (var line in sample.Plain.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            root.GetProperty("asOf").GetString().Should().Be(TestData.AsOf);
            root.GetProperty("scores").EnumerateObject().Select(p => p.Name).Should().Equal("fit", "engagement", "intent", "total");
            root.GetProperty("scores").EnumerateObject().Should().OnlyContain(p => p.Value.ValueKind == JsonValueKind.Number);
            root.GetProperty("stage").ValueKind.Should().Be(JsonValueKind.String);
            foreach (var move in root.GetProperty("stageHistory").EnumerateArray())
            {
                move.EnumerateObject().Select(p => p.Name).Should().Equal("from", "to", "at");
                var at = move.GetProperty("at").GetString()!;
                at.Should().EndWith("Z");
                DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture).Should().BeOnOrBefore(asOf);
            }
        }
    }

    [Fact]
    public void Scoring_the_sample_lists_its_six_broken_lines_with_line_numbers_and_reasons_then_a_summary()
    {
        var lines = sample.Plain.StderrLines;

        lines.Should().HaveCount(7);
        var expected = new (long Line, string Reason)[]
        {
            (1234, "not valid JSON"),
            (4567, "no 'type'"),
            (8910, "no 'userId' or 'anonymousId'"),
            (12345, "bad 'timestamp' \"yesterday\""),
            (16789, "a track message without 'event'"),
            (20000, "an alias message without 'previousId'"),
        };
        for (int i = 0; i < expected.Length; i++)
        {
            lines[i].Should().StartWith($"messages.jsonl: line {expected[i].Line}: rejected: ").And.Contain(expected[i].Reason);
        }

        var summary = lines[^1];
        summary.Should().StartWith("messages.jsonl: ")
            .And.Contain($"read {TestData.SampleLines}")
            .And.Contain("rejected 6")
            .And.Contain("duplicates ")
            .And.Contain("late ")
            .And.Contain($"{TestData.SampleLeads} leads");
    }

    [Fact]
    public void Strict_exits_with_1_when_messages_were_rejected_but_still_prints_every_result()
    {
        var strict = SampleScoreFixture.ScoreSample("--strict");

        strict.ExitCode.Should().Be(1);
        strict.StdoutBytes.Should().Equal(sample.Plain.StdoutBytes);
        strict.Stderr.Should().Be(sample.Plain.Stderr);
    }

    [Fact]
    public void Strict_exits_with_0_when_no_message_was_rejected()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", TestData.AsOf, "--strict");

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Should().HaveCount(2);
    }

    [Fact]
    public void Out_writes_the_same_bytes_to_the_file_and_nothing_to_stdout()
    {
        using var dir = new TempDir();
        var file = dir.File("scores.jsonl");

        var result = SampleScoreFixture.ScoreSample("--out", file);

        result.ExitCode.Should().Be(0);
        result.StdoutBytes.Should().BeEmpty();
        File.ReadAllBytes(file).Should().Equal(sample.Plain.StdoutBytes);
        result.Stderr.Should().Be(sample.Plain.Stderr);
    }

    [Fact]
    public void Explain_adds_contributions_as_the_last_key_and_changes_nothing_else()
    {
        var plain = sample.Plain.StdoutLines;
        var explained = sample.Explained.StdoutLines;

        sample.Explained.ExitCode.Should().Be(0);
        explained.Should().HaveCount(plain.Length);
        for (int i = 0; i < plain.Length; i++)
        {
            using var doc = JsonDocument.Parse(explained[i]);
            doc.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal([.. ResultKeys, "contributions"]);
            int cut = explained[i].IndexOf(",\"contributions\":", StringComparison.Ordinal);
            (explained[i][..cut] + "}").Should().Be(plain[i]);
        }
    }

    [Fact]
    public void Explain_lists_each_contribution_with_rule_score_awards_suppressed_and_points()
    {
        var model = File.ReadAllText(TestData.Model);
        using var modelDoc = JsonDocument.Parse(model);
        var traitRules = modelDoc.RootElement.GetProperty("rules").EnumerateArray()
            .Where(r => !r.TryGetProperty("on", out _))
            .Select(r => r.GetProperty("id").GetString())
            .ToHashSet();
        var ruleScores = modelDoc.RootElement.GetProperty("rules").EnumerateArray()
            .ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("score").GetString());

        foreach (var line in sample.Explained.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            foreach (var c in doc.RootElement.GetProperty("contributions").EnumerateArray())
            {
                c.EnumerateObject().Select(p => p.Name).Should().Equal("rule", "score", "awards", "suppressed", "points");
                var rule = c.GetProperty("rule").GetString()!;
                ruleScores.Should().ContainKey(rule);
                c.GetProperty("score").GetString().Should().Be(ruleScores[rule]);
                if (traitRules.Contains(rule))
                {
                    c.GetProperty("awards").GetInt64().Should().Be(1, line);
                    c.GetProperty("suppressed").GetInt64().Should().Be(0, line);
                }
                else
                {
                    (c.GetProperty("awards").GetInt64() + c.GetProperty("suppressed").GetInt64()).Should().BePositive(line);
                }
            }
        }
    }

    [Fact]
    public void Explain_contribution_points_of_fit_add_up_to_fit_where_fit_is_not_clamped()
    {
        int checkedLeads = 0;
        foreach (var line in sample.Explained.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            var fit = doc.RootElement.GetProperty("scores").GetProperty("fit").GetDouble();
            if (fit is <= 0 or >= 100)
            {
                continue;
            }

            var sum = doc.RootElement.GetProperty("contributions").EnumerateArray()
                .Where(c => c.GetProperty("score").GetString() == "fit")
                .Sum(c => c.GetProperty("points").GetDouble());
            sum.Should().BeApproximately(fit, 1e-9, line);
            checkedLeads++;
        }

        checkedLeads.Should().BeGreaterThan(100, "most sample leads have a fit between the clamps");
    }

    [Fact]
    public void Explain_contribution_points_of_engagement_and_intent_add_up_to_them_where_they_are_not_clamped()
    {
        // engagement is clamped to [-50, 150], intent to at most 60 (sample model).
        var bounds = new Dictionary<string, (double Min, double Max)>
        {
            ["engagement"] = (-50, 150),
            ["intent"] = (double.NegativeInfinity, 60),
        };
        foreach (var line in sample.Explained.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            foreach (var (score, (min, max)) in bounds)
            {
                var value = doc.RootElement.GetProperty("scores").GetProperty(score).GetDouble();
                if (value <= min || value >= max)
                {
                    continue;
                }

                var sum = doc.RootElement.GetProperty("contributions").EnumerateArray()
                    .Where(c => c.GetProperty("score").GetString() == score)
                    .Sum(c => c.GetProperty("points").GetDouble());
                sum.Should().BeApproximately(value, 1e-9, $"{score} of {line}");
            }
        }
    }

    [Fact]
    public void Stage_history_shows_a_move_of_the_stage_clock_at_the_first_midnight_after_engagement_decays_below_the_exit()
    {
        // u-0031 (README): pricing pages and email opens from 4 to 8 September, nothing after; engagement halves every
        // 30 days: 10.21 at midnight 26 October, 9.98 at midnight 27 October, below mql's exit (lt 10) from the
        // evening of the 26th. The sample model states "stageCheckHours": 24, so the lead leaves at the next midnight
        // tick, not at the as-of time.
        var result = SampleScoreFixture.ScoreSample("--lead", "u-0031");

        result.ExitCode.Should().Be(0);
        using var doc = JsonDocument.Parse(result.StdoutLines.Single());
        doc.RootElement.GetProperty("stage").GetString().Should().Be("lead");
        doc.RootElement.GetProperty("stageHistory").GetRawText().Should().Be(
            """[{"from":"lead","to":"mql","at":"2026-09-08T04:57:05Z"},{"from":"mql","to":"lead","at":"2026-10-27T00:00:00Z"}]""");
    }

    [Fact]
    public void Lead_prints_exactly_the_one_object_of_that_lead()
    {
        var result = SampleScoreFixture.ScoreSample("--lead", "u-0001");

        result.ExitCode.Should().Be(0);
        var lines = result.StdoutLines;
        lines.Should().ContainSingle();
        LeadIdOf(lines[0]).Should().Be("u-0001");
        lines[0].Should().Be(sample.Plain.StdoutLines.Single(l => LeadIdOf(l) == "u-0001"));
    }

    [Fact]
    public void Lead_finds_a_lead_by_its_anonymous_id_and_reports_it_under_its_user_id()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", TestData.AsOf, "--lead", "anon-5b1e0c7a9d2f");

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Should().ContainSingle().Which.Should().StartWith("{\"leadId\":\"u-9001\",");
    }

    [Fact]
    public void Lead_that_does_not_exist_exits_with_2_and_says_so()
    {
        var result = SampleScoreFixture.ScoreSample("--lead", "u-nobody");

        result.ExitCode.Should().Be(2);
        result.StdoutBytes.Should().BeEmpty();
        result.Stderr.Should().Contain("error: no lead 'u-nobody' has a message in messages.jsonl");
    }

    [Fact]
    public void Reading_the_messages_from_stdin_gives_the_same_output_as_the_file()
    {
        var result = CliRunner.Run(
            ["score", "--model", TestData.Model, "--events", "-", "--as-of", TestData.AsOf],
            stdin: File.ReadAllBytes(TestData.Messages));

        result.ExitCode.Should().Be(0);
        result.StdoutBytes.Should().Equal(sample.Plain.StdoutBytes);
        result.Stderr.Should().Be(sample.Plain.Stderr.Replace("messages.jsonl: ", "<stdin>: ", StringComparison.Ordinal));
    }

    [Fact]
    public void An_as_of_in_the_past_gives_fewer_leads_and_no_stage_move_after_it()
    {
        const string past = "2026-10-01T00:00:00Z";
        var limit = DateTimeOffset.Parse(past, System.Globalization.CultureInfo.InvariantCulture);

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Messages, "--as-of", past);

        result.ExitCode.Should().Be(0);
        var lines = result.StdoutLines;
        lines.Should().NotBeEmpty().And.HaveCountLessThan(TestData.SampleLeads);
        int moves = 0;
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            doc.RootElement.GetProperty("asOf").GetString().Should().Be(past);
            foreach (var move in doc.RootElement.GetProperty("stageHistory").EnumerateArray())
            {
                DateTimeOffset.Parse(move.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                    .Should().BeOnOrBefore(limit, line);
                moves++;
            }
        }

        moves.Should().BePositive("some leads had moved stage by then");
        result.StderrLines[^1].Should().Contain("after --as-of ");
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-11-30T00:00:00")]
    [InlineData("2026-13-01T00:00:00Z")]
    [InlineData("")]
    public void A_bad_as_of_exits_with_2_and_prints_nothing_on_stdout(string asOf)
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Messages, "--as-of", asOf);

        result.ExitCode.Should().Be(2);
        result.StdoutBytes.Should().BeEmpty();
        result.Stderr.Should().Contain($"error: --as-of '{asOf}' is not an ISO 8601 instant");
    }

    [Fact]
    public void An_as_of_with_an_offset_is_printed_as_the_same_instant_in_utc()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", "2026-11-30T01:00:00+01:00");
        var utc = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.StdoutBytes.Should().Equal(utc.StdoutBytes);
        result.StdoutLines.Should().OnlyContain(l => l.Contains("\"asOf\":\"2026-11-30T00:00:00Z\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Windows_line_endings_and_a_byte_order_mark_do_not_change_the_output()
    {
        using var dir = new TempDir();
        var file = dir.File("crlf.jsonl");
        var text = File.ReadAllText(TestData.Messages).ReplaceLineEndings("\r\n");
        File.WriteAllText(file, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", file, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.StdoutBytes.Should().Equal(sample.Plain.StdoutBytes);
        result.Stderr.Should().Be(sample.Plain.Stderr.Replace("messages.jsonl: ", "crlf.jsonl: ", StringComparison.Ordinal));
    }

    [Fact]
    public void An_empty_events_file_prints_nothing_and_a_zero_summary()
    {
        using var dir = new TempDir();
        var file = dir.Write("empty.jsonl", "");

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", file, "--as-of", TestData.AsOf, "--strict");

        result.ExitCode.Should().Be(0);
        result.StdoutBytes.Should().BeEmpty();
        result.StderrLines.Should().Equal("empty.jsonl: read 0, applied 0, duplicates 0, rejected 0, late 0; 0 leads");
    }

    [Fact]
    public void Messages_of_an_ignored_type_are_counted_as_ignored_and_create_no_lead()
    {
        using var dir = new TempDir();
        var file = dir.Write("screens.jsonl", [
            """{"type":"screen","messageId":"s-1","timestamp":"2026-11-01T10:00:00Z","userId":"u-screen","name":"Home"}""",
            """{"type":"identify","messageId":"s-2","timestamp":"2026-11-01T10:00:00Z","userId":"u-known"}""",
        ]);

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", file, "--as-of", TestData.AsOf, "--strict");

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Select(LeadIdOf).Should().Equal("u-known");
        result.StderrLines.Should().ContainSingle().Which.Should().Contain("read 2").And.Contain("ignored 1").And.EndWith("; 1 leads");
    }

    [Fact]
    public void A_missing_events_file_exits_with_3_and_says_so()
    {
        using var dir = new TempDir();
        var missing = dir.File("none.jsonl");

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", missing, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(3);
        result.StdoutBytes.Should().BeEmpty();
        result.Stderr.Should().Contain(missing).And.Contain("no such file");
    }

    [Fact]
    public void An_invalid_model_stops_score_with_exit_2_and_its_errors()
    {
        using var dir = new TempDir();
        var model = dir.Write("bad.json", TestData.SpecModel.Replace("\"op\": \"between\"", "\"op\": \"within\"", StringComparison.Ordinal));

        var result = CliRunner.Run("score", "--model", model, "--events", TestData.Batch, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(2);
        result.StdoutBytes.Should().BeEmpty();
        result.Stderr.Should().Contain("bad.json(").And.Contain("$.rules[1].when.op").And.Contain("'within'");
    }

    [Fact]
    public void A_batch_file_is_scored_for_its_two_leads()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Select(LeadIdOf).Should().Equal("u-9001", "u-9002");
        result.StderrLines.Should().ContainSingle()
            .Which.Should().StartWith("batch.json: read 12,").And.Contain("duplicates 1").And.Contain("rejected 0").And.EndWith("; 2 leads");
    }

    [Fact]
    public void A_pretty_printed_batch_with_a_bad_item_reports_the_item_by_its_batch_index()
    {
        using var dir = new TempDir();
        var events = dir.Write("batch.json", """
            {
              "batch": [
                { "type": "identify", "messageId": "x-1", "timestamp": "2026-11-01T10:00:00Z", "userId": "u-1", "traits": { "title": "VP Sales" } },
                { "type": "track", "messageId": "x-2", "timestamp": "2026-11-01T10:01:00Z", "userId": "u-1" },
                { "messageId": "x-3", "timestamp": "2026-11-01T10:02:00Z", "userId": "u-2", "event": "Demo Requested" },
                { "type": "track", "messageId": "x-4", "timestamp": "2026-11-01T10:03:00Z", "userId": "u-2", "event": "Demo Requested" }
              ]
            }
            """);

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", events, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Select(LeadIdOf).Should().Equal("u-1", "u-2");
        var errors = result.StderrLines;
        errors.Should().HaveCount(3);
        errors[0].Should().Be("batch.json: line 1, $.batch[1]: rejected: a track message without 'event'");
        errors[1].Should().Be("batch.json: line 1, $.batch[2]: rejected: no 'type'");
        errors[2].Should().Contain("read 4").And.Contain("rejected 2");
    }

    [Fact]
    public void A_batch_on_one_line_of_a_json_lines_file_reports_the_bad_item_by_line_and_batch_index()
    {
        using var dir = new TempDir();
        var events = dir.Write("mixed.jsonl", [
            """{"type":"identify","messageId":"y-1","timestamp":"2026-11-01T10:00:00Z","userId":"u-1","traits":{"title":"VP Sales"}}""",
            """{"batch":[{"type":"page","messageId":"y-2","timestamp":"2026-11-01T10:01:00Z","userId":"u-1","properties":{"path":"/pricing"}},{"type":"page","messageId":"y-3","timestamp":"later","userId":"u-1"}]}""",
        ]);

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", events, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Select(LeadIdOf).Should().Equal("u-1");
        result.StderrLines[0].Should().StartWith("mixed.jsonl: line 2, $.batch[1]: rejected: bad 'timestamp' \"later\"");
        result.StderrLines[^1].Should().Contain("read 3").And.Contain("rejected 1");
    }

    [Fact]
    public void Scoring_twice_gives_identical_bytes()
    {
        var again = SampleScoreFixture.ScoreSample();
        var explainedAgain = SampleScoreFixture.ScoreSample("--explain");

        again.StdoutBytes.Should().Equal(sample.Plain.StdoutBytes);
        again.Stderr.Should().Be(sample.Plain.Stderr);
        explainedAgain.StdoutBytes.Should().Equal(sample.Explained.StdoutBytes);
    }

    [Fact]
    public void Shuffling_the_lines_of_the_sample_does_not_change_a_single_byte_of_the_output()
    {
        var lines = File.ReadAllLines(TestData.Messages);
        new Random(20261130).Shuffle(lines);
        using var dir = new TempDir();
        var shuffled = dir.Write("shuffled.jsonl", lines);

        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", shuffled, "--as-of", TestData.AsOf, "--explain");

        result.ExitCode.Should().Be(0);
        Encoding.UTF8.GetString(result.StdoutBytes).Should().Be(sample.Explained.Stdout);
        result.StderrLines.Count(l => l.Contains(": rejected: ", StringComparison.Ordinal)).Should().Be(6);
        result.StderrLines[^1].Should().Contain($"read {TestData.SampleLines}").And.Contain("rejected 6");
    }

    [Fact]
    public void Without_as_of_the_clock_of_the_environment_gives_the_as_of_time()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Should().HaveCount(2);
        foreach (var line in result.StdoutLines)
        {
            using var doc = JsonDocument.Parse(line);
            doc.RootElement.GetProperty("asOf").GetString().Should().Be("2026-12-01T08:30:15.25Z");
        }

        var explicitAsOf = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Batch, "--as-of", "2026-12-01T08:30:15.25Z");
        result.StdoutBytes.Should().Equal(explicitAsOf.StdoutBytes);
    }

    [Fact]
    public void Without_as_of_messages_after_the_clock_do_not_count()
    {
        // The fake clock stands between the two batch leads' first messages: only u-9001 exists by then.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 0, 0, 0, TimeSpan.Zero));

        var result = CliRunner.Run(["score", "--model", TestData.Model, "--events", TestData.Batch], time: clock);

        result.ExitCode.Should().Be(0);
        result.StdoutLines.Should().ContainSingle().Which.Should().StartWith("{\"leadId\":\"u-9001\",\"asOf\":\"2026-11-03T00:00:00Z\",");
        result.StderrLines[^1].Should().Contain("after --as-of ");
    }

    private static string LeadIdOf(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.GetProperty("leadId").GetString()!;
    }
}
