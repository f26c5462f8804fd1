using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace LeadScoring.Samples.Tests;

/// <summary>Paths baked in at build time: the repository root and the sample's WebApi.dll.</summary>
internal static class Paths
{
    public static string RepoRoot { get; } = Metadata("RepoRoot");

    public static string WebApiDll { get; } = Path.GetFullPath(Path.Combine(RepoRoot, Metadata("WebApiDll")));

    public static string WorkerDll { get; } = Path.GetFullPath(Path.Combine(RepoRoot, Metadata("WorkerDll")));

    public static string SampleFile(string name) => Path.Combine(RepoRoot, "samples", "data", name);

    private static string Metadata(string key) =>
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"no assembly metadata '{key}'");
}

/// <summary>
/// The sample WebApi running as a real child process (<c>dotnet WebApi.dll ...</c>), with its console output captured.
/// Disposing it kills the process tree and waits for it to exit.
/// </summary>
internal sealed class WebApiProcess : IAsyncDisposable
{
    private static readonly string[] ClearedVariables =
    [
        "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_HTTP_PORTS", "HTTP_PORTS",
        "ASPNETCORE_HTTPS_PORTS", "DOTNET_HTTPS_PORTS", "HTTPS_PORTS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT",
    ];

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WebApiProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public int Port => BaseAddress.Port;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the server on <c>http://127.0.0.1:&lt;free port&gt;</c> and waits until it answers.</summary>
    public static Task<WebApiProcess> StartAsync(params string[] arguments)
    {
        int port = FreePort();
        return StartAsync(port, ["--urls", $"http://127.0.0.1:{port}", .. arguments]);
    }

    /// <summary>Starts the server with exactly <paramref name="arguments"/> and waits until it answers on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<WebApiProcess> StartAsync(int port, string[] arguments)
    {
        var server = Launch(port, arguments);
        try
        {
            await server.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server without waiting for it (for a start that is expected to fail).</summary>
    public static WebApiProcess Launch(int port, string[] arguments)
    {
        if (!File.Exists(Paths.WebApiDll))
        {
            throw new FileNotFoundException($"the sample is not built: {Paths.WebApiDll}");
        }

        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            // The content root: appsettings.json is read from the app's folder.
            WorkingDirectory = Path.GetDirectoryName(Paths.WebApiDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Paths.WebApiDll);
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var name in ClearedVariables)
        {
            info.Environment.Remove(name);
        }

        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("LeadScoring__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("WebApi__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new WebApiProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>A TCP port nobody listens on right now.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"the WebApi exited with {_process.ExitCode} before answering:\n{Output}");
            }

            try
            {
                // Any answer will do: the scoring pipeline starts before the server listens.
                using var response = await probe.GetAsync("leads/readiness-probe");
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the WebApi did not answer within {timeout}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the process to exit on its own; false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }
}
