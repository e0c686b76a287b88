using System.Net;
using System.Net.Sockets;

namespace Stilts.Tests.Download;

/// <summary>
/// A tiny HTTP file server on 127.0.0.1 for download tests: serves byte arrays by path, honours "Range: bytes=N-"
/// with 206 (unless IgnoreRange), can cut a response off halfway once per path, and records every request.
/// </summary>
public sealed class LocalHttpServer : IDisposable
{
    readonly HttpListener _listener = new();
    readonly Dictionary<string, byte[]> _files = [];
    readonly HashSet<string> _interruptOnce = [];
    readonly object _gate = new();
    readonly Task _loop;

    public Uri BaseUri { get; }
    public bool IgnoreRange { get; set; }
    public List<(string Path, string? Range)> Requests { get; } = [];

    public LocalHttpServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUri.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Serves bytes at the path a mirror maps this real URL to: /{host}{path}.</summary>
    public void ServeMirrored(string realUrl, byte[] content)
    {
        var u = new Uri(realUrl);
        Serve($"/{u.Host}{u.AbsolutePath}", content);
    }

    public void Serve(string path, byte[] content) { lock (_gate) _files[path] = content; }
    public void InterruptOnce(string path) { lock (_gate) _interruptOnce.Add(path); }
    public Uri Url(string path) => new(BaseUri, path.TrimStart('/'));

    async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { await Handle(context); }
            catch (Exception) { /* the client went away; nothing to do */ }
        }
    }

    async Task Handle(HttpListenerContext context)
    {
        string path = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath);
        string? range = context.Request.Headers["Range"];
        byte[]? content;
        bool interrupt;
        lock (_gate)
        {
            Requests.Add((path, range));
            _files.TryGetValue(path, out content);
            interrupt = _interruptOnce.Remove(path);
        }
        var response = context.Response;
        if (content == null)
        {
            response.StatusCode = 404;
            response.Close();
            return;
        }
        long from = 0;
        if (range != null && !IgnoreRange && range.StartsWith("bytes=") && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= content.Length)
            {
                response.StatusCode = 416;
                response.Close();
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }
        response.ContentLength64 = content.Length - from;
        if (interrupt)
        {
            int half = (content.Length - (int)from) / 2;
            await response.OutputStream.WriteAsync(content.AsMemory((int)from, half));
            await response.OutputStream.FlushAsync();
            response.Abort();
            return;
        }
        await response.OutputStream.WriteAsync(content.AsMemory((int)from));
        response.Close();
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
