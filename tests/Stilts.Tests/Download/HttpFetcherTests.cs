using System.Security.Cryptography;
using Stilts.Data.Download;

namespace Stilts.Tests.Download;

public class HttpFetcherTests
{
    static byte[] Payload(int n)
    {
        var bytes = new byte[n];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    [Fact]
    public async Task Downloads_and_verifies_a_checksum()
    {
        using var server = new LocalHttpServer();
        var data = Payload(300_000);
        server.Serve("/files/blob.bin", data);
        var log = new List<string>();
        using var client = new HttpClient();
        string target = Path.Combine(TestPaths.NewTempDir(), "blob.bin");
        await new HttpFetcher(client, log.Add).FetchAsync(server.Url("/files/blob.bin"), target, Sha(data));
        Assert.Equal(data, File.ReadAllBytes(target));
        Assert.False(File.Exists(target + ".part"));
        Assert.Contains(log, l => l.Contains("blob.bin: done"));

        // A second run finds the verified file and fetches nothing.
        await new HttpFetcher(client, log.Add).FetchAsync(server.Url("/files/blob.bin"), target, Sha(data));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Checksum_mismatch_fails_and_leaves_no_file()
    {
        using var server = new LocalHttpServer();
        server.Serve("/x.zip", Payload(1000));
        using var client = new HttpClient();
        string target = Path.Combine(TestPaths.NewTempDir(), "x.zip");
        var ex = await Assert.ThrowsAsync<InvalidInputException>(() =>
            new HttpFetcher(client, _ => { }).FetchAsync(server.Url("/x.zip"), target, new string('0', 64)));
        Assert.Contains("SHA-256 mismatch", ex.Message);
        Assert.Contains(Sha(Payload(1000)), ex.Message);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + ".part"));
    }

    [Fact]
    public async Task Interrupted_download_resumes_with_a_range_request()
    {
        using var server = new LocalHttpServer();
        var data = Payload(200_000);
        server.Serve("/big.tar.gz", data);
        server.InterruptOnce("/big.tar.gz");
        using var client = new HttpClient();
        string target = Path.Combine(TestPaths.NewTempDir(), "big.tar.gz");
        var fetcher = new HttpFetcher(client, _ => { });

        var ex = await Assert.ThrowsAsync<InvalidInputException>(() => fetcher.FetchAsync(server.Url("/big.tar.gz"), target, Sha(data)));
        Assert.Contains("re-run to resume", ex.Message);
        long partial = new FileInfo(target + ".part").Length;
        Assert.InRange(partial, 1, data.Length - 1);
        Assert.False(File.Exists(target));

        await fetcher.FetchAsync(server.Url("/big.tar.gz"), target, Sha(data));
        Assert.Equal(data, File.ReadAllBytes(target));
        Assert.Equal(2, server.Requests.Count);
        Assert.Null(server.Requests[0].Range);
        Assert.Equal($"bytes={partial}-", server.Requests[1].Range);
    }

    [Fact]
    public async Task Server_ignoring_range_restarts_the_file()
    {
        using var server = new LocalHttpServer { IgnoreRange = true };
        var data = Payload(50_000);
        server.Serve("/f.bin", data);
        string target = Path.Combine(TestPaths.NewTempDir(), "f.bin");
        File.WriteAllBytes(target + ".part", Payload(777));   // stale partial bytes
        using var client = new HttpClient();
        await new HttpFetcher(client, _ => { }).FetchAsync(server.Url("/f.bin"), target, Sha(data));
        Assert.Equal(data, File.ReadAllBytes(target));
        Assert.Equal("bytes=777-", server.Requests.Single().Range);
    }

    [Fact]
    public async Task Missing_file_is_reported_with_its_url()
    {
        using var server = new LocalHttpServer();
        using var client = new HttpClient();
        var ex = await Assert.ThrowsAsync<InvalidInputException>(() =>
            new HttpFetcher(client, _ => { }).FetchAsync(server.Url("/nope.json"), Path.Combine(TestPaths.NewTempDir(), "nope.json"), null));
        Assert.Contains("/nope.json", ex.Message);
        Assert.Contains("404", ex.Message);
    }
}
