package dev.wharf.ingest;

import dev.wharf.auth.Principal;
import dev.wharf.db.Cursor;
import dev.wharf.db.Page;
import dev.wharf.error.ClientException;
import dev.wharf.files.Priority;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * SQL for the {@code ingest_jobs} aggregate. Worker updates are fenced on the attempt number, so a worker
 * whose lease was taken over cannot overwrite the newer attempt's result.
 */
public final class JobStore {

  private static final String COLUMNS = "id, file_id, tenant_id, device_id, priority, status, attempts, max_attempts, last_error, "
      + "progress, result, next_run_at, created_at, started_at, finished_at, updated_at";

  private JobStore() {}

  public static JobRecord map(Row row) {
    Object progress = row.getValue("progress");
    Object result = row.getValue("result");
    return new JobRecord(
        row.getUUID("id"),
        row.getUUID("file_id"),
        row.getString("tenant_id"),
        row.getString("device_id"),
        Priority.ofBand(row.getInteger("priority")),
        JobStatus.fromWire(row.getString("status")),
        row.getInteger("attempts"),
        row.getInteger("max_attempts"),
        row.getString("last_error"),
        progress instanceof JsonObject p ? p : new JsonObject(),
        result instanceof JsonObject r ? r : null,
        row.getOffsetDateTime("next_run_at"),
        row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("started_at"),
        row.getOffsetDateTime("finished_at"),
        row.getOffsetDateTime("updated_at"));
  }

  public static Future<Void> insert(SqlClient sql, UUID id, UUID fileId, Principal owner, Priority priority, int maxAttempts) {
    return sql.preparedQuery("INSERT INTO ingest_jobs (id, file_id, tenant_id, device_id, priority, status, max_attempts) "
            + "VALUES ($1, $2, $3, $4, $5, 'queued', $6)")
        .execute(Tuple.of(id, fileId, owner.tenantId(), owner.deviceId(), priority.band(), maxAttempts))
        .mapEmpty();
  }

  public static Future<JobRecord> get(SqlClient sql, Principal caller, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM ingest_jobs WHERE id = $1 AND tenant_id = $2 AND ($3::text IS NULL OR device_id = $3)")
        .execute(Tuple.of(id, caller.tenantId(), caller.isDevice() ? caller.deviceId() : null))
        .map(rows -> single(rows));
  }

  public static Future<JobRecord> getById(SqlClient sql, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM ingest_jobs WHERE id = $1")
        .execute(Tuple.of(id))
        .map(JobStore::single);
  }

  public static Future<Page<JobRecord>> list(SqlClient sql, Principal caller, JobStatus status, String cursor, int limit) {
    Cursor after = Cursor.decode(cursor);
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM ingest_jobs WHERE tenant_id = $1 AND ($2::text IS NULL OR device_id = $2) "
            + "AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5)) "
            + "ORDER BY created_at DESC, id DESC LIMIT $6")
        .execute(Tuple.tuple(Arrays.asList(caller.tenantId(), caller.isDevice() ? caller.deviceId() : null,
            status == null ? null : status.wireName(), after == null ? null : after.createdAt(), after == null ? null : after.id(), limit + 1)))
        .map(rows -> {
          List<JobRecord> items = new ArrayList<>();
          rows.forEach(row -> items.add(map(row)));
          String next = null;
          if (items.size() > limit) {
            items.remove(items.size() - 1);
            JobRecord last = items.get(items.size() - 1);
            next = new Cursor(last.createdAt(), last.id()).encode();
          }
          return new Page<>(items, next);
        });
  }

  /**
   * Starts an attempt: {@code queued|active → active}, attempts + 1. Empty when the job is no longer
   * runnable (finished, cancelled, deleted), in which case the claim is simply dropped.
   */
  public static Future<JobRecord> startAttempt(SqlClient sql, UUID id) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = 'active', attempts = attempts + 1, started_at = now(), "
            + "next_run_at = NULL, progress = '{}'::jsonb, updated_at = now() "
            + "WHERE id = $1 AND status IN ('queued', 'active') RETURNING " + COLUMNS)
        .execute(Tuple.of(id))
        .map(rows -> rows.rowCount() == 0 ? null : map(rows.iterator().next()));
  }

  /**
   * {@link #startAttempt} and, in the same statement, the job's file to {@code processing} (when the job has a
   * file and attempts are not exhausted, as the worker would mark it next): one round trip instead of two.
   */
  public static Future<JobRecord> startAttemptMarkingFile(SqlClient sql, UUID id) {
    return sql.preparedQuery("WITH job AS (UPDATE ingest_jobs SET status = 'active', attempts = attempts + 1, started_at = now(), "
            + "next_run_at = NULL, progress = '{}'::jsonb, updated_at = now() "
            + "WHERE id = $1 AND status IN ('queued', 'active') RETURNING " + COLUMNS + "), "
            + "marked AS (UPDATE files SET status = 'processing', updated_at = now() "
            + "WHERE id = (SELECT file_id FROM job WHERE attempts <= max_attempts) AND status IN ('uploaded', 'processing') RETURNING id) "
            + "SELECT " + COLUMNS + " FROM job")
        .execute(Tuple.of(id))
        .map(rows -> rows.rowCount() == 0 ? null : map(rows.iterator().next()));
  }

  /** Deletes jobs that ended (succeeded, dead, cancelled) more than {@code retention} ago, at most {@code limit}. */
  public static Future<Integer> purgeFinished(SqlClient sql, java.time.Duration retention, int limit) {
    return sql.preparedQuery("DELETE FROM ingest_jobs WHERE id IN (SELECT id FROM ingest_jobs WHERE status IN ('succeeded', 'dead', 'cancelled') "
            + "AND coalesce(finished_at, updated_at) < now() - make_interval(secs => $1) LIMIT $2)")
        .execute(Tuple.of((double) retention.toSeconds(), limit))
        .map(io.vertx.sqlclient.RowSet::rowCount);
  }

  /** Records progress of attempt {@code attempt}; ignored when a newer attempt took over. */
  public static Future<Void> progress(SqlClient sql, UUID id, int attempt, JsonObject progress) {
    return sql.preparedQuery("UPDATE ingest_jobs SET progress = $3, updated_at = now() WHERE id = $1 AND attempts = $2 AND status = 'active'")
        .execute(Tuple.of(id, attempt, progress))
        .mapEmpty();
  }

  /** Ends attempt {@code attempt} in a terminal state; false when fenced out by a newer attempt or a cancel. */
  public static Future<Boolean> finish(SqlClient sql, UUID id, int attempt, JobStatus status, String error, JsonObject result) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = $3, last_error = $4, result = $5, finished_at = now(), updated_at = now() "
            + "WHERE id = $1 AND attempts = $2 AND status = 'active'")
        .execute(Tuple.of(id, attempt, status.wireName(), error, result))
        .map(rows -> rows.rowCount() == 1);
  }

  /**
   * {@link #finish} and, only when it wins, the file's verdict ({@code FileStore.markVerified}'s update), in one
   * statement: atomic as the two in one transaction were, in one round trip instead of four (begin, two
   * updates, commit). {@code fileId} null leaves the file alone (no file, or a cancel).
   *
   * @return false when fenced out by a newer attempt or a cancel (then the file is not touched either)
   */
  public static Future<Boolean> finishWithFile(SqlClient sql, UUID id, int attempt, JobStatus status, String error, JsonObject result,
      UUID fileId, String fileStatus, String detail, JsonObject metadata) {
    return sql.preparedQuery("WITH job AS (UPDATE ingest_jobs SET status = $3, last_error = $4, result = $5, finished_at = now(), "
            + "updated_at = now() WHERE id = $1 AND attempts = $2 AND status = 'active' RETURNING id), "
            + "verdict AS (UPDATE files SET status = $7, status_detail = $8, metadata = $9, "
            + "sha256 = coalesce(sha256, ($9::jsonb)->>'verified_sha256'), updated_at = now() "
            + "WHERE id = $6::uuid AND status IN ('uploaded', 'processing') AND EXISTS (SELECT 1 FROM job) RETURNING id) "
            + "SELECT (SELECT count(*) FROM job) AS won")
        .execute(Tuple.tuple(Arrays.asList(id, attempt, status.wireName(), error, result, fileId, fileStatus, detail, metadata)))
        .map(rows -> rows.iterator().next().getLong("won") == 1);
  }

  /**
   * Puts attempt {@code attempt} back to {@code queued} to run again after {@code delay}; false when fenced out. With
   * {@code spared} the attempt does not count against the job's budget ({@code max_attempts} grows by one with it):
   * it was cut by an outage or a stopping worker and judged nothing.
   */
  public static Future<Boolean> requeue(SqlClient sql, UUID id, int attempt, String error, Duration delay, boolean spared) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = 'queued', last_error = $3, next_run_at = now() + make_interval(secs => $4), "
            + "max_attempts = max_attempts + CASE WHEN $5 THEN 1 ELSE 0 END, "
            + "updated_at = now() WHERE id = $1 AND attempts = $2 AND status = 'active'")
        .execute(Tuple.of(id, attempt, error, delay.toMillis() / 1000.0, spared))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Cancels a queued or active job of the caller; returns the job as it now stands. */
  public static Future<JobRecord> cancel(SqlClient sql, Principal caller, UUID id) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = CASE WHEN status IN ('queued', 'active') THEN 'cancelled' ELSE status END, "
            + "finished_at = CASE WHEN status IN ('queued', 'active') THEN now() ELSE finished_at END, updated_at = now() "
            + "WHERE id = $1 AND tenant_id = $2 AND ($3::text IS NULL OR device_id = $3) RETURNING " + COLUMNS)
        .execute(Tuple.of(id, caller.tenantId(), caller.isDevice() ? caller.deviceId() : null))
        .map(JobStore::single);
  }

  /** Cancels every unfinished job of a file (the file is being deleted). */
  public static Future<List<UUID>> cancelForFile(SqlClient sql, UUID fileId) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = 'cancelled', finished_at = now(), updated_at = now() "
            + "WHERE file_id = $1 AND status IN ('queued', 'active') RETURNING id")
        .execute(Tuple.of(fileId))
        .map(rows -> {
          List<UUID> ids = new ArrayList<>();
          rows.forEach(row -> ids.add(row.getUUID("id")));
          return ids;
        });
  }

  /** Admin: a dead job back to {@code queued} with a fresh set of attempts; 409 unless dead. */
  public static Future<JobRecord> retryDead(SqlClient sql, UUID id) {
    return sql.preparedQuery("UPDATE ingest_jobs SET status = 'queued', attempts = 0, last_error = NULL, next_run_at = NULL, "
            + "finished_at = NULL, updated_at = now() WHERE id = $1 AND status = 'dead' AND file_id IS NOT NULL RETURNING " + COLUMNS)
        .execute(Tuple.of(id))
        .compose(rows -> rows.rowCount() == 1
            ? Future.succeededFuture(map(rows.iterator().next()))
            : getById(sql, id).compose(job -> Future.failedFuture(
                ClientException.conflict("job_not_dead", "only a dead job can be retried; this one is " + job.status().wireName()))));
  }

  /** Unfinished jobs, oldest first, after {@code afterId} in id order; for the reconciler. */
  public static Future<List<JobRecord>> pending(SqlClient sql, UUID afterId, int limit) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM ingest_jobs WHERE status IN ('queued', 'active') "
            + "AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2")
        .execute(Tuple.of(afterId, limit))
        .map(rows -> {
          List<JobRecord> out = new ArrayList<>();
          rows.forEach(row -> out.add(map(row)));
          return out;
        });
  }

  public static Future<Long> countDead(SqlClient sql) {
    return sql.query("SELECT count(*) AS n FROM ingest_jobs WHERE status = 'dead'").execute()
        .map(rows -> rows.iterator().next().getLong("n"));
  }

  /** Seconds the oldest {@code queued} job (waiting to run or for a retry) has existed; 0 when none. */
  public static Future<Double> oldestQueuedAgeSeconds(SqlClient sql) {
    return sql.query("SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age"
            + " FROM ingest_jobs WHERE status = 'queued'").execute()
        .map(rows -> rows.iterator().next().getDouble("age"));
  }

  private static JobRecord single(RowSet<Row> rows) {
    if (rows.rowCount() == 0) {
      throw ClientException.notFound("job");
    }
    return map(rows.iterator().next());
  }
}
