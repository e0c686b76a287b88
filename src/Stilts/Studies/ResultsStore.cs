using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Stilts.Inference;

namespace Stilts.Studies;

public enum RunStatus { Pending, Running, Done, Failed }

/// <summary>One run of a study as stored: its identity, status, resolved config and where its checkpoint is.</summary>
public sealed record RunRecord(
    string Study, string Key, string Kind, string Model, string Regime, string Target, int Seed,
    RunStatus Status, int Attempts, string? Error, string ConfigJson, string ConfigHash, string? Checkpoint,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

/// <summary>One metric value of a run: task, language ("" for a task-level value), metric name, value in percent.</summary>
public sealed record MetricRow(string RunKey, string Task, string Language, string Metric, double Value);

/// <summary>One inference measurement (latency/throughput study), optionally tied to a run.</summary>
public sealed record InferenceRow(
    string Study, string? RunKey, string Model, string Task, string Device, int BatchSize, int SeqLen, int GenerationLength,
    double P50Ms, double P95Ms, double P99Ms, double ExamplesPerSecond, double TokensPerSecond, double PeakMemoryMb);

/// <summary>One task-data inference measurement (<c>stilts bench inference --data</c>): real inputs of a language, optionally tied to a run.</summary>
public sealed record TaskInferenceRow(string Study, string? RunKey, string Model, string Task, string Device, TaskLatencyResult Result);

/// <summary>
/// The results database: SQLite in WAL mode with a busy timeout, so several worker processes (local or Slurm
/// jobs on a shared filesystem) can write at once without losing rows. Every write is one short IMMEDIATE
/// transaction; readers never block writers.
/// </summary>
public sealed class ResultsStore : IDisposable
{
    readonly SqliteConnection _db;
    public string Path { get; }

    ResultsStore(string path, SqliteConnection db) { Path = path; _db = db; }

    public static ResultsStore Open(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path, Pooling = false, DefaultTimeout = 60, Mode = SqliteOpenMode.ReadWriteCreate,
        }.ToString());
        db.Open();
        Exec(db, "PRAGMA busy_timeout = 60000;");
        Retry(() => Exec(db, "PRAGMA journal_mode = WAL;"));
        Exec(db, "PRAGMA synchronous = NORMAL;");
        Retry(() => Exec(db, Schema));
        return new ResultsStore(path, db);
    }

    const string Schema = """
        CREATE TABLE IF NOT EXISTS runs(
          study TEXT NOT NULL, run_key TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, regime TEXT NOT NULL,
          target TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
          error TEXT, config_json TEXT NOT NULL, config_hash TEXT NOT NULL, checkpoint TEXT,
          started_at TEXT, finished_at TEXT, worker TEXT, PRIMARY KEY(study, run_key));
        CREATE TABLE IF NOT EXISTS metrics(
          study TEXT NOT NULL, run_key TEXT NOT NULL, task TEXT NOT NULL, language TEXT NOT NULL, metric TEXT NOT NULL,
          value REAL NOT NULL, PRIMARY KEY(study, run_key, task, language, metric));
        CREATE TABLE IF NOT EXISTS timings(
          study TEXT NOT NULL, run_key TEXT NOT NULL, name TEXT NOT NULL, seconds REAL NOT NULL,
          PRIMARY KEY(study, run_key, name));
        CREATE TABLE IF NOT EXISTS inference(
          id INTEGER PRIMARY KEY AUTOINCREMENT, study TEXT NOT NULL, run_key TEXT, model TEXT NOT NULL, task TEXT NOT NULL,
          device TEXT NOT NULL, batch_size INTEGER NOT NULL, seq_len INTEGER NOT NULL, gen_len INTEGER NOT NULL,
          p50_ms REAL NOT NULL, p95_ms REAL NOT NULL, p99_ms REAL NOT NULL, examples_per_s REAL NOT NULL,
          tokens_per_s REAL NOT NULL, peak_mem_mb REAL NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS task_inference(
          id INTEGER PRIMARY KEY AUTOINCREMENT, study TEXT NOT NULL, run_key TEXT, model TEXT NOT NULL, task TEXT NOT NULL,
          device TEXT NOT NULL, language TEXT NOT NULL, split TEXT NOT NULL, batch_size INTEGER NOT NULL, call TEXT NOT NULL,
          max_seq_len INTEGER NOT NULL, max_new_tokens INTEGER NOT NULL, examples INTEGER NOT NULL, passes INTEGER NOT NULL,
          timed_batches INTEGER NOT NULL, timed_examples INTEGER NOT NULL, total_s REAL NOT NULL,
          p50_ms REAL NOT NULL, p95_ms REAL NOT NULL, p99_ms REAL NOT NULL, mean_ms REAL NOT NULL,
          input_tokens INTEGER NOT NULL, generated_tokens INTEGER NOT NULL, max_gen_len INTEGER NOT NULL,
          examples_per_s REAL NOT NULL, input_tokens_per_s REAL NOT NULL, generated_tokens_per_s REAL NOT NULL,
          mean_input_len REAL NOT NULL, mean_gen_len REAL NOT NULL, peak_mem_mb REAL NOT NULL, created_at TEXT NOT NULL);
        """;

    /// <summary>Adds a planned run, or updates its plan when the config changed (a changed run is re-run and loses
    /// its metrics, timings and inference rows, which described the old checkpoint).</summary>
    public void Plan(RunRecord run) => Write(tx =>
    {
        var existing = Get(run.Study, run.Key, tx);
        if (existing != null && existing.ConfigHash == run.ConfigHash) return;
        Cmd(tx, """
            INSERT INTO runs(study, run_key, kind, model, regime, target, seed, status, attempts, config_json, config_hash)
            VALUES($s, $k, $kind, $m, $r, $t, $seed, 'Pending', 0, $cfg, $h)
            ON CONFLICT(study, run_key) DO UPDATE SET kind=$kind, model=$m, regime=$r, target=$t, seed=$seed,
              status='Pending', attempts=0, error=NULL, config_json=$cfg, config_hash=$h, checkpoint=NULL,
              started_at=NULL, finished_at=NULL;
            DELETE FROM metrics WHERE study=$s AND run_key=$k;
            DELETE FROM timings WHERE study=$s AND run_key=$k;
            DELETE FROM inference WHERE study=$s AND run_key=$k;
            DELETE FROM task_inference WHERE study=$s AND run_key=$k;
            """,
            ("$s", run.Study), ("$k", run.Key), ("$kind", run.Kind), ("$m", run.Model), ("$r", run.Regime),
            ("$t", run.Target), ("$seed", run.Seed), ("$cfg", run.ConfigJson), ("$h", run.ConfigHash)).ExecuteNonQuery();
    });

    /// <summary>Claims a pending or failed run for this worker; false when another worker has it or it is done.</summary>
    public bool TryStart(string study, string key) => Write(tx =>
        Cmd(tx, "UPDATE runs SET status='Running', attempts=attempts+1, started_at=$now, error=NULL, worker=$w " +
                "WHERE study=$s AND run_key=$k AND status IN ('Pending','Failed')",
            ("$s", study), ("$k", key), ("$now", Now()), ("$w", WorkerId)).ExecuteNonQuery() == 1);

    /// <summary>"host:pid" of this process, stored with each run it claims.</summary>
    public static string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// Marks Failed every Running run whose worker was a process on this machine that no longer exists
    /// (killed, crashed), so the next `stilts run` retries it. Returns the keys it marked.
    /// </summary>
    public IReadOnlyList<string> FailDeadLocalWorkers(string study)
    {
        var dead = new List<string>();
        using (var c = Cmd(null, "SELECT run_key, worker FROM runs WHERE study=$s AND status='Running'", ("$s", study)))
        using (var r = c.ExecuteReader())
            while (r.Read())
            {
                string? worker = r.IsDBNull(1) ? null : r.GetString(1);
                var parts = worker?.Split(':');
                if (parts is [var host, var pidText] && host == Environment.MachineName && int.TryParse(pidText, out int pid) && !ProcessAlive(pid))
                    dead.Add(r.GetString(0));
            }
        foreach (var key in dead) Fail(study, key, "the worker process died before the run finished");
        return dead;
    }

    static bool ProcessAlive(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public void Complete(string study, string key, IEnumerable<MetricRow> metrics, string? checkpoint, IReadOnlyDictionary<string, double>? timings = null) => Write(tx =>
    {
        foreach (var m in metrics)
            Cmd(tx, "INSERT OR REPLACE INTO metrics VALUES($s, $k, $t, $l, $m, $v)",
                ("$s", study), ("$k", key), ("$t", m.Task), ("$l", m.Language), ("$m", m.Metric), ("$v", m.Value)).ExecuteNonQuery();
        foreach (var (name, seconds) in timings ?? new Dictionary<string, double>())
            Cmd(tx, "INSERT OR REPLACE INTO timings VALUES($s, $k, $n, $v)", ("$s", study), ("$k", key), ("$n", name), ("$v", seconds)).ExecuteNonQuery();
        Cmd(tx, "UPDATE runs SET status='Done', checkpoint=$c, finished_at=$now, error=NULL WHERE study=$s AND run_key=$k",
            ("$s", study), ("$k", key), ("$c", (object?)checkpoint ?? DBNull.Value), ("$now", Now())).ExecuteNonQuery();
    });

    public void Fail(string study, string key, string error) => Write(tx =>
        Cmd(tx, "UPDATE runs SET status='Failed', error=$e, finished_at=$now WHERE study=$s AND run_key=$k",
            ("$s", study), ("$k", key), ("$e", error), ("$now", Now())).ExecuteNonQuery());

    public void AddInference(InferenceRow r) => Write(tx =>
        Cmd(tx, """
            INSERT INTO inference(study, run_key, model, task, device, batch_size, seq_len, gen_len, p50_ms, p95_ms, p99_ms,
              examples_per_s, tokens_per_s, peak_mem_mb, created_at)
            VALUES($s, $k, $m, $t, $d, $b, $l, $g, $p50, $p95, $p99, $eps, $tps, $mem, $now)
            """,
            ("$s", r.Study), ("$k", (object?)r.RunKey ?? DBNull.Value), ("$m", r.Model), ("$t", r.Task), ("$d", r.Device),
            ("$b", r.BatchSize), ("$l", r.SeqLen), ("$g", r.GenerationLength), ("$p50", r.P50Ms), ("$p95", r.P95Ms),
            ("$p99", r.P99Ms), ("$eps", r.ExamplesPerSecond), ("$tps", r.TokensPerSecond), ("$mem", r.PeakMemoryMb),
            ("$now", Now())).ExecuteNonQuery());

    /// <summary>
    /// Adds a task-data row. It has its own table rather than new columns on <c>inference</c>: its work is counted
    /// (real lengths, generation to eos) where an inference row's is fixed (seq_len, gen_len), so the two kinds are
    /// never averaged together, and databases made before it gain the table on open with no migration.
    /// </summary>
    public void AddTaskInference(TaskInferenceRow row) => Write(tx =>
    {
        var r = row.Result;
        Cmd(tx, """
            INSERT INTO task_inference(study, run_key, model, task, device, language, split, batch_size, call, max_seq_len, max_new_tokens,
              examples, passes, timed_batches, timed_examples, total_s, p50_ms, p95_ms, p99_ms, mean_ms, input_tokens, generated_tokens,
              max_gen_len, examples_per_s, input_tokens_per_s, generated_tokens_per_s, mean_input_len, mean_gen_len, peak_mem_mb, created_at)
            VALUES($s, $k, $m, $t, $d, $lang, $split, $b, $call, $msl, $mnt, $n, $passes, $tb, $te, $total, $p50, $p95, $p99, $mean,
              $in, $gen, $maxgen, $eps, $itps, $gtps, $meanin, $meangen, $mem, $now)
            """,
            ("$s", row.Study), ("$k", (object?)row.RunKey ?? DBNull.Value), ("$m", row.Model), ("$t", row.Task), ("$d", row.Device),
            ("$lang", r.Language), ("$split", r.Split.ToString()), ("$b", r.BatchSize), ("$call", r.Call.ToString()), ("$msl", r.MaxSeqLen),
            ("$mnt", r.MaxNewTokens), ("$n", r.Examples), ("$passes", r.Passes), ("$tb", r.TimedBatches), ("$te", r.TimedExamples),
            ("$total", r.TotalSeconds), ("$p50", r.P50Ms), ("$p95", r.P95Ms), ("$p99", r.P99Ms), ("$mean", r.MeanMs),
            ("$in", r.InputTokens), ("$gen", r.GeneratedTokens), ("$maxgen", r.MaxGeneratedLength), ("$eps", r.ExamplesPerSecond),
            ("$itps", r.InputTokensPerSecond), ("$gtps", r.GeneratedTokensPerSecond), ("$meanin", r.MeanInputLength),
            ("$meangen", r.MeanGeneratedLength), ("$mem", r.PeakMemoryMb), ("$now", Now())).ExecuteNonQuery();
    });

    /// <summary>The task-data rows of a study in insertion order.</summary>
    public IReadOnlyList<TaskInferenceRow> TaskInference(string study)
    {
        using var c = Cmd(null, """
            SELECT study, run_key, model, task, device, language, split, batch_size, call, max_seq_len, max_new_tokens, examples, passes,
              timed_batches, timed_examples, total_s, p50_ms, p95_ms, p99_ms, mean_ms, input_tokens, generated_tokens, max_gen_len,
              examples_per_s, input_tokens_per_s, generated_tokens_per_s, mean_input_len, mean_gen_len, peak_mem_mb
            FROM task_inference WHERE study=$s ORDER BY id
            """, ("$s", study));
        using var r = c.ExecuteReader();
        var rows = new List<TaskInferenceRow>();
        while (r.Read())
            rows.Add(new TaskInferenceRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                new TaskLatencyResult(r.GetString(5), Enum.Parse<Stilts.Tasks.Split>(r.GetString(6)), r.GetInt32(7), Enum.Parse<TaskBenchCall>(r.GetString(8)),
                    r.GetInt32(9), r.GetInt32(10), r.GetInt32(11), r.GetInt32(12), r.GetInt32(13), r.GetInt32(14), r.GetDouble(15),
                    r.GetDouble(16), r.GetDouble(17), r.GetDouble(18), r.GetDouble(19), r.GetInt64(20), r.GetInt64(21), r.GetInt32(22),
                    r.GetDouble(23), r.GetDouble(24), r.GetDouble(25), r.GetDouble(26), r.GetDouble(27), r.GetDouble(28))));
        return rows;
    }

    public RunRecord? Get(string study, string key) => Get(study, key, null);

    public IReadOnlyList<RunRecord> Runs(string study)
    {
        using var c = Cmd(null, "SELECT * FROM runs WHERE study=$s ORDER BY run_key", ("$s", study));
        return ReadRuns(c);
    }

    public IReadOnlyList<MetricRow> Metrics(string study)
    {
        using var c = Cmd(null, "SELECT run_key, task, language, metric, value FROM metrics WHERE study=$s ORDER BY run_key, task, language, metric", ("$s", study));
        using var r = c.ExecuteReader();
        var rows = new List<MetricRow>();
        while (r.Read()) rows.Add(new MetricRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetDouble(4)));
        return rows;
    }

    public IReadOnlyList<InferenceRow> Inference(string study)
    {
        using var c = Cmd(null, "SELECT study, run_key, model, task, device, batch_size, seq_len, gen_len, p50_ms, p95_ms, p99_ms, examples_per_s, tokens_per_s, peak_mem_mb FROM inference WHERE study=$s ORDER BY id", ("$s", study));
        using var r = c.ExecuteReader();
        var rows = new List<InferenceRow>();
        while (r.Read())
            rows.Add(new InferenceRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), r.GetDouble(8), r.GetDouble(9), r.GetDouble(10), r.GetDouble(11), r.GetDouble(12), r.GetDouble(13)));
        return rows;
    }

    /// <summary>Every metric of a study joined with its run's identity, as CSV or JSON text.</summary>
    public string Export(string study, ExportFormat format)
    {
        var runs = Runs(study).ToDictionary(r => r.Key);
        var rows = Metrics(study).Select(m => (Run: runs[m.RunKey], Metric: m)).ToList();
        if (format == ExportFormat.Json)
            return JsonSerializer.Serialize(rows.Select(x => new
            {
                study, run = x.Run.Key, model = x.Run.Model, regime = x.Run.Regime, target = x.Run.Target, seed = x.Run.Seed,
                task = x.Metric.Task, language = x.Metric.Language, metric = x.Metric.Metric, value = x.Metric.Value,
            }), new JsonSerializerOptions { WriteIndented = true });
        var sb = new StringBuilder("study,run,model,regime,target,seed,task,language,metric,value\n");
        foreach (var (run, m) in rows)
            sb.AppendLine(string.Join(",", new[] { study, run.Key, run.Model, run.Regime, run.Target, run.Seed.ToString(CultureInfo.InvariantCulture),
                m.Task, m.Language, m.Metric, m.Value.ToString("R", CultureInfo.InvariantCulture) }.Select(Csv)));
        return sb.ToString();
    }

    public void Dispose() => _db.Dispose();

    RunRecord? Get(string study, string key, SqliteTransaction? tx)
    {
        using var c = Cmd(tx, "SELECT * FROM runs WHERE study=$s AND run_key=$k", ("$s", study), ("$k", key));
        return ReadRuns(c).SingleOrDefault();
    }

    static List<RunRecord> ReadRuns(SqliteCommand c)
    {
        using var r = c.ExecuteReader();
        var list = new List<RunRecord>();
        while (r.Read())
        {
            string? S(string col) => r.IsDBNull(r.GetOrdinal(col)) ? null : r.GetString(r.GetOrdinal(col));
            DateTimeOffset? D(string col) => S(col) is { } v ? DateTimeOffset.Parse(v, CultureInfo.InvariantCulture) : null;
            list.Add(new RunRecord(S("study")!, S("run_key")!, S("kind")!, S("model")!, S("regime")!, S("target")!,
                r.GetInt32(r.GetOrdinal("seed")), Enum.Parse<RunStatus>(S("status")!), r.GetInt32(r.GetOrdinal("attempts")),
                S("error"), S("config_json")!, S("config_hash")!, S("checkpoint"), D("started_at"), D("finished_at")));
        }
        return list;
    }

    // One short write transaction, retried when another process holds the write lock past the busy timeout.
    T Write<T>(Func<SqliteTransaction, T> body)
    {
        T result = default!;
        Retry(() =>
        {
            using var tx = _db.BeginTransaction(deferred: false);
            result = body(tx);
            tx.Commit();
        });
        return result;
    }

    void Write(Action<SqliteTransaction> body) => Write<int>(tx => { body(tx); return 0; });

    static void Retry(Action action)
    {
        for (int attempt = 0; ; attempt++)
        {
            try { action(); return; }
            catch (SqliteException e) when ((e.SqliteErrorCode == 5 || e.SqliteErrorCode == 6) && attempt < 50)
            {
                Thread.Sleep(20 + Random.Shared.Next(80)); // SQLITE_BUSY / SQLITE_LOCKED: back off and try again
            }
        }
    }

    SqliteCommand Cmd(SqliteTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        var c = _db.CreateCommand();
        c.CommandText = sql;
        c.Transaction = tx;
        foreach (var (n, v) in args) c.Parameters.AddWithValue(n, v);
        return c;
    }

    static void Exec(SqliteConnection db, string sql)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql;
        c.ExecuteNonQuery();
    }

    static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    static string Csv(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}

public enum ExportFormat { Csv, Json }
