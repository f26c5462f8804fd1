using System.Text;

namespace LeadScoring.Hosting.Tests;

/// <summary>Issue 14, row 6: the folder source reads every complete line exactly once, as the CLI frames it.</summary>
public sealed class FolderSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ls-folder-source-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Message(int i) =>
        $$"""{"type":"track","event":"Demo Requested","userId":"u-{{i}}","messageId":"m-{{i}}","timestamp":"2026-11-01T00:00:00Z"}""";

    private static async Task<List<SourceRecord>> ReadAsync(JsonLinesFolderSource source, int count, string? checkpoint = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var records = new List<SourceRecord>();
        try
        {
            await foreach (var r in source.ReadAsync(checkpoint, cts.Token))
            {
                records.Add(r);
                if (records.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return records;
    }

    [Fact]
    public async Task The_last_line_without_a_final_line_break_is_read_at_the_end_and_once_the_file_is_idle_when_following()
    {
        File.WriteAllText(Path.Combine(_folder, "a.jsonl"), Message(1) + "\n" + Message(2));

        var once = await ReadAsync(new JsonLinesFolderSource(new() { Folder = _folder, Follow = false }), int.MaxValue);
        var following = await ReadAsync(
            new JsonLinesFolderSource(new() { Folder = _folder, PollInterval = TimeSpan.FromMilliseconds(20), IdleTimeout = TimeSpan.FromMilliseconds(200) }), 2);

        once.Select(r => r.Location).Should().Equal("a.jsonl: line 1", "a.jsonl: line 2");
        following.Select(r => r.Result.Message!.MessageId).Should().Equal("m-1", "m-2");
    }

    [Fact]
    public async Task A_line_break_written_after_an_idle_last_line_does_not_count_it_twice_nor_shift_the_line_numbers()
    {
        string file = Path.Combine(_folder, "a.jsonl");
        File.WriteAllText(file, Message(1));
        var source = new JsonLinesFolderSource(new() { Folder = _folder, Follow = false });
        var first = await ReadAsync(source, int.MaxValue);

        File.AppendAllText(file, "\n" + Message(2) + "\n");
        var second = await ReadAsync(source, int.MaxValue, first[^1].Checkpoint);

        first.Select(r => r.Location).Should().Equal("a.jsonl: line 1");
        second.Select(r => (r.Location, r.Result.Message!.MessageId)).Should().Equal(("a.jsonl: line 2", "m-2"));
    }

    [Fact]
    public async Task A_file_that_arrives_later_is_read_even_when_its_name_sorts_before_the_file_read_last()
    {
        File.WriteAllText(Path.Combine(_folder, "b.jsonl"), Message(1) + "\n");
        var source = new JsonLinesFolderSource(new() { Folder = _folder, Follow = false });
        var first = await ReadAsync(source, int.MaxValue);

        File.WriteAllText(Path.Combine(_folder, "a.jsonl"), Message(2) + "\n");
        File.AppendAllText(Path.Combine(_folder, "b.jsonl"), Message(3) + "\n");
        var second = await ReadAsync(source, int.MaxValue, first[^1].Checkpoint);

        second.Select(r => (r.Location, r.Result.Message!.MessageId)).Should().Equal(("a.jsonl: line 1", "m-2"), ("b.jsonl: line 2", "m-3"));
    }

    [Fact]
    public async Task A_line_with_a_byte_order_mark_is_read_as_the_cli_reads_it()
    {
        File.WriteAllText(Path.Combine(_folder, "a.jsonl"), "\uFEFF" + Message(1) + "\n\uFEFF" + Message(2) + "\n", new UTF8Encoding(false));

        var records = await ReadAsync(new JsonLinesFolderSource(new() { Folder = _folder, Follow = false }), int.MaxValue);

        records.Should().HaveCount(2).And.OnlyContain(r => !r.Result.IsRejected);
    }

    [Fact]
    public async Task A_file_that_is_a_json_array_is_one_rejection_and_a_bad_line_costs_only_itself()
    {
        File.WriteAllText(Path.Combine(_folder, "a.jsonl"), "[\n" + Message(1) + ",\n" + Message(2) + "\n]\n");
        File.WriteAllText(Path.Combine(_folder, "b.jsonl"), Message(3)[..40] + "\n\n" + Message(4) + "\n");

        var records = await ReadAsync(new JsonLinesFolderSource(new() { Folder = _folder, Follow = false }), int.MaxValue);

        records.Select(r => (r.Location, r.Result.IsRejected)).Should().Equal(("a.jsonl: line 1", true), ("b.jsonl: line 1", true), ("b.jsonl: line 3", false));
        records[0].Result.Error.Should().Contain("JSON array").And.Contain("expected JSON Lines");
    }

    [Fact]
    public async Task A_pretty_printed_file_is_one_rejection_saying_json_lines_are_expected()
    {
        File.WriteAllText(Path.Combine(_folder, "a.jsonl"), "{\n  \"type\": \"track\",\n  \"userId\": \"u\"\n}\n");

        var records = await ReadAsync(new JsonLinesFolderSource(new() { Folder = _folder, Follow = false }), int.MaxValue);

        records.Should().ContainSingle().Which.Result.Error.Should().Contain("pretty-printed").And.Contain("expected JSON Lines");
    }

    [Fact]
    public async Task A_missing_folder_is_an_error_not_an_empty_source()
    {
        var source = new JsonLinesFolderSource(new() { Folder = Path.Combine(_folder, "missing"), Follow = false });

        var read = async () => await ReadAsync(source, int.MaxValue);

        await read.Should().ThrowAsync<DirectoryNotFoundException>().WithMessage("*missing*does not exist*");
    }
}
