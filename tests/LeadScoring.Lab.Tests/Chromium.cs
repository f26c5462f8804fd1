using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;

namespace LeadScoring.Lab.Tests;

/// <summary>Debian's headless <c>chromium</c>: the DOM after load, and a screenshot.</summary>
internal static class Chromium
{
    public static string Executable =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("chromium is not installed: install Debian's 'chromium' package (.ci/run does when it is missing)");

    public static string DumpDom(string html, string profile) => Run(profile, "--dump-dom", new Uri(html).AbsoluteUri).Stdout;

    public static void Screenshot(string html, string png, string profile) =>
        Run(profile, "--hide-scrollbars", "--window-size=1280,1600", "--screenshot=" + png, new Uri(html).AbsoluteUri);

    private static (string Stdout, string Stderr) Run(string profile, params string[] args)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("chromium did not finish within 120 s");
        }

        p.ExitCode.Should().Be(0, stderr.Result);
        return (stdout.Result, stderr.Result);
    }

    /// <summary>Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into its pixels as 0xRRGGBB.</summary>
    public static (int Width, int Height, int[] Pixels) DecodePng(byte[] png)
    {
        int pos = 8, width = 0, height = 0, colorType = 0;
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                data[8].Should().Be(8, "8-bit channels");
                colorType = data[9];
                data[12].Should().Be(0, "not interlaced");
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            pos += 12 + length;
        }

        int bpp = colorType switch { 2 => 3, 6 => 4, _ => throw new NotSupportedException($"PNG colour type {colorType}") };
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        int stride = width * bpp;
        var prev = new byte[stride];
        var cur = new byte[stride];
        var pixels = new int[width * height];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            Array.Copy(bytes, (y * (stride + 1)) + 1, cur, 0, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                cur[i] = (byte)(cur[i] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new NotSupportedException($"PNG filter {filter}"),
                });
            }

            for (int x = 0; x < width; x++)
            {
                pixels[(y * width) + x] = (cur[x * bpp] << 16) | (cur[(x * bpp) + 1] << 8) | cur[(x * bpp) + 2];
            }

            (prev, cur) = (cur, prev);
        }

        return (width, height, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
