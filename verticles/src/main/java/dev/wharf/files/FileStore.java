package dev.wharf.files;

import dev.wharf.auth.Principal;
import dev.wharf.db.Cursor;
import dev.wharf.db.Page;
import dev.wharf.error.ClientException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** SQL for the {@code files} aggregate. Every read is scoped by tenant and, for devices, by device. */
public final class FileStore {

  static final String COLUMNS_WITHOUT_JOB = "f.id, f.tenant_id, f.device_id, f.filename, f.original_filename, f.content_type, f.size, "
      + "f.sha256, f.object_key, f.status, f.status_detail, f.metadata, f.priority, f.created_at, f.updated_at";
  static final String COLUMNS = COLUMNS_WITHOUT_JOB + ", "
      + "(SELECT j.id FROM ingest_jobs j WHERE j.file_id = f.id ORDER BY j.created_at DESC LIMIT 1) AS job_id";

  private FileStore() {}

  public static FileRecord map(Row row) {
    Object meta = row.getValue("metadata");
    return new FileRecord(
        row.getUUID("id"),
        row.getString("tenant_id"),
        row.getString("device_id"),
        row.getString("filename"),
        row.getString("original_filename"),
        row.getString("content_type"),
        row.getLong("size"),
        row.getString("sha256"),
        row.getString("object_key"),
        FileStatus.fromWire(row.getString("status")),
        row.getString("status_detail"),
        meta instanceof JsonObject json ? json : new JsonObject(),
        row.getInteger("priority"),
        row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("updated_at"),
        row.getUUID("job_id"));
  }

  /** A new upload's row, before its first byte is stored. */
  public record NewUpload(UUID id, Principal owner, String filename, String originalFilename, String contentType, String objectKey,
      int priority) {}

  private static final String INSERT_UPLOADING_ALL = "INSERT INTO files (id, tenant_id, device_id, filename, original_filename, "
      + "content_type, object_key, status, priority) SELECT u.id, u.tenant_id, u.device_id, u.filename, u.original_filename, "
      + "u.content_type, u.object_key, 'uploading', u.priority FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], "
      + "$6::text[], $7::text[], $8::smallint[]) AS u(id, tenant_id, device_id, filename, original_filename, content_type, object_key, priority)";

  /** The row of one new upload (the statement of {@link #insertUploadingAll} with one row). */
  public static Future<Void> insertUploading(SqlClient sql, NewUpload u) {
    return insertUploadingAll(sql, List.of(u)).mapEmpty();
  }

  /**
   * The rows of several new uploads in one statement: all are inserted or, if PostgreSQL refuses one, none (the
   * caller then inserts each alone, see {@code TurnBatches}). Answers one null per upload.
   */
  public static Future<List<Void>> insertUploadingAll(SqlClient sql, List<NewUpload> uploads) {
    int n = uploads.size();
    UUID[] ids = new UUID[n];
    String[] tenants = new String[n];
    String[] devices = new String[n];
    String[] names = new String[n];
    String[] originals = new String[n];
    String[] types = new String[n];
    String[] keys = new String[n];
    Short[] priorities = new Short[n];
    for (int i = 0; i < n; i++) {
      NewUpload u = uploads.get(i);
      ids[i] = u.id();
      tenants[i] = u.owner().tenantId();
      devices[i] = u.owner().deviceId();
      names[i] = u.filename();
      originals[i] = u.originalFilename();
      types[i] = u.contentType();
      keys[i] = u.objectKey();
      priorities[i] = (short) u.priority();
    }
    return sql.preparedQuery(INSERT_UPLOADING_ALL)
        .execute(Tuple.tuple(java.util.Arrays.asList(ids, tenants, devices, names, originals, types, keys, priorities)))
        .map(rows -> java.util.Collections.nCopies(n, (Void) null));
  }

  /** Records the multipart upload behind a streamed upload, before its first part is sent. */
  public static Future<Void> recordMultipart(SqlClient sql, UUID id, String uploadId) {
    return sql.preparedQuery("UPDATE files SET multipart_upload_id = $2, updated_at = now() WHERE id = $1")
        .execute(Tuple.of(id, uploadId))
        .mapEmpty();
  }

  /** Marks an upload in progress as alive. */
  public static Future<Void> touch(SqlClient sql, UUID id) {
    return sql.preparedQuery("UPDATE files SET updated_at = now() WHERE id = $1 AND status = 'uploading'")
        .execute(Tuple.of(id))
        .mapEmpty();
  }

  /** An upload whose bytes are stored, to be committed with its ingest job. */
  public record Commit(UUID id, long size, String sha256, UUID jobId, int priority) {}

  private static final String MARK_UPLOADED_WITH_JOB_ALL = "WITH c AS (SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], "
      + "$4::uuid[], $5::smallint[]) AS c(id, size, sha256, job_id, priority)), "
      + "f AS (UPDATE files f SET status = 'uploaded', size = c.size, sha256 = c.sha256, multipart_upload_id = NULL, updated_at = now() "
      + "FROM c WHERE f.id = c.id AND f.status = 'uploading' RETURNING " + COLUMNS_WITHOUT_JOB + ", c.job_id, c.priority AS job_priority), "
      + "j AS (INSERT INTO ingest_jobs (id, file_id, tenant_id, device_id, priority, status, max_attempts) "
      + "SELECT f.job_id, f.id, f.tenant_id, f.device_id, f.job_priority, 'queued', $6::integer FROM f) "
      + "SELECT * FROM f";

  /**
   * {@code uploading → uploaded} and the file's ingest job ({@code queued}, in {@code jobId}) in one statement, so
   * one round trip commits an upload (a statement is its own transaction: both rows or neither). The job's columns
   * are those of {@code JobStore.insert}, which inserts jobs everywhere else; keep the two in step. Answers the
   * file as it now is, or null when the row is gone or no longer {@code uploading} (then no job is inserted). It is
   * the statement of {@link #markUploadedWithJobAll} with one row.
   */
  public static Future<FileRecord> markUploadedWithJob(SqlClient sql, Commit c, int maxAttempts) {
    return markUploadedWithJobAll(sql, List.of(c), maxAttempts).map(files -> files.get(0));
  }

  /**
   * {@code uploading → uploaded} with their ingest jobs for several uploads in one statement, all or none; answers
   * in their order, null for each whose row is gone or no longer {@code uploading}.
   */
  public static Future<List<FileRecord>> markUploadedWithJobAll(SqlClient sql, List<Commit> commits, int maxAttempts) {
    int n = commits.size();
    UUID[] ids = new UUID[n];
    Long[] sizes = new Long[n];
    String[] hashes = new String[n];
    UUID[] jobIds = new UUID[n];
    Short[] priorities = new Short[n];
    for (int i = 0; i < n; i++) {
      Commit c = commits.get(i);
      ids[i] = c.id();
      sizes[i] = c.size();
      hashes[i] = c.sha256();
      jobIds[i] = c.jobId();
      priorities[i] = (short) c.priority();
    }
    return sql.preparedQuery(MARK_UPLOADED_WITH_JOB_ALL)
        .execute(Tuple.of(ids, sizes, hashes, jobIds, priorities, maxAttempts))
        .map(rows -> {
          java.util.Map<UUID, FileRecord> committed = new java.util.HashMap<>();
          for (Row row : rows) {
            FileRecord file = map(row);
            committed.put(file.id(), file);
          }
          List<FileRecord> answers = new ArrayList<>(n);
          for (Commit c : commits) {
            answers.add(committed.remove(c.id()));
          }
          return answers;
        });
  }

  /**
   * {@code uploading → uploaded} once the bytes are stored, answering the file as it now is with {@code jobId} as its
   * job (the caller inserts that job in the same transaction), so the commit need not read the row again; null when
   * the row is gone or no longer {@code uploading}.
   */
  public static Future<FileRecord> markUploaded(SqlClient sql, UUID id, long size, String sha256, UUID jobId) {
    return sql.preparedQuery("UPDATE files f SET status = 'uploaded', size = $2, sha256 = $3, multipart_upload_id = NULL, updated_at = now() "
            + "WHERE f.id = $1 AND f.status = 'uploading' RETURNING " + COLUMNS_WITHOUT_JOB + ", $4::uuid AS job_id")
        .execute(Tuple.of(id, size, sha256, jobId))
        .map(rows -> rows.rowCount() == 0 ? null : map(rows.iterator().next()));
  }

  /** {@code uploaded → processing} when a worker starts on it (a re-run finds it processing already). */
  public static Future<Void> markProcessing(SqlClient sql, UUID id) {
    return sql.preparedQuery("UPDATE files SET status = 'processing', updated_at = now() WHERE id = $1 AND status IN ('uploaded', 'processing')")
        .execute(Tuple.of(id))
        .mapEmpty();
  }

  /** The verdict of ingest: {@code processed} or {@code failed} with a detail, and what was learned. */
  public static Future<Void> markVerified(SqlClient sql, UUID id, FileStatus status, String detail, JsonObject metadata) {
    return sql.preparedQuery("UPDATE files SET status = $2, status_detail = $3, metadata = $4, sha256 = coalesce(sha256, ($4::jsonb)->>'verified_sha256'), updated_at = now() "
            + "WHERE id = $1 AND status IN ('uploaded', 'processing')")
        .execute(Tuple.of(id, status.wireName(), detail, metadata))
        .mapEmpty();
  }

  /** A dead job is retried: its failed file goes back to {@code uploaded} to be verified again. */
  public static Future<Void> markRequeued(SqlClient sql, UUID id) {
    return sql.preparedQuery("UPDATE files SET status = 'uploaded', status_detail = NULL, updated_at = now() WHERE id = $1 AND status = 'failed'")
        .execute(Tuple.of(id))
        .mapEmpty();
  }

  public static Future<Void> deleteRow(SqlClient sql, UUID id) {
    return sql.preparedQuery("DELETE FROM files WHERE id = $1").execute(Tuple.of(id)).mapEmpty();
  }

  /** The file if {@code caller} may see it; 404 otherwise, the same for absent and not-yours. */
  public static Future<FileRecord> get(SqlClient sql, Principal caller, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = $1 AND f.tenant_id = $2 AND ($3::text IS NULL OR f.device_id = $3)")
        .execute(Tuple.of(id, caller.tenantId(), caller.isDevice() ? caller.deviceId() : null))
        .map(rows -> single(rows, "file"));
  }

  /** The file by id with no caller scoping; for workers. */
  /**
   * The file of ingest job {@code jobId}, found through the job row: the worker reads it beside the statement
   * that starts the attempt (on another connection) instead of after it.
   */
  public static Future<FileRecord> getForJob(SqlClient sql, UUID jobId) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = (SELECT file_id FROM ingest_jobs WHERE id = $1)")
        .execute(Tuple.of(jobId))
        .map(rows -> single(rows, "file"));
  }

  public static Future<FileRecord> getForWorker(SqlClient sql, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = $1")
        .execute(Tuple.of(id))
        .map(rows -> single(rows, "file"));
  }

  public static Future<Page<FileRecord>> list(SqlClient sql, Principal caller, String deviceFilter, FileStatus status, String cursor, int limit) {
    Cursor after = Cursor.decode(cursor);
    String device = caller.isDevice() ? caller.deviceId() : deviceFilter;
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.tenant_id = $1 AND ($2::text IS NULL OR f.device_id = $2) "
            + "AND ($3::text IS NULL OR f.status = $3) "
            + "AND ($4::timestamptz IS NULL OR (f.created_at, f.id) < ($4, $5)) "
            + "ORDER BY f.created_at DESC, f.id DESC LIMIT $6")
        .execute(Tuple.tuple(java.util.Arrays.asList(caller.tenantId(), device, status == null ? null : status.wireName(),
            after == null ? null : after.createdAt(), after == null ? null : after.id(), limit + 1)))
        .map(rows -> page(rows, limit));
  }

  /** A streamed upload left behind by a gateway that died mid-stream: its row, object and multipart upload. */
  public record StaleUpload(UUID id, String tenantId, String deviceId, String objectKey, String multipartUploadId) {}

  /**
   * Rows left {@code uploading} longer than {@code age} by a streamed upload (resumable sessions have their
   * own expiry): an upload whose gateway died mid-stream.
   */
  public static Future<List<StaleUpload>> staleUploads(SqlClient sql, Duration age, int limit) {
    return sql.preparedQuery("SELECT f.id, f.tenant_id, f.device_id, f.object_key, f.multipart_upload_id FROM files f "
            + "WHERE f.status = 'uploading' AND f.updated_at < now() - make_interval(secs => $1) "
            + "AND NOT EXISTS (SELECT 1 FROM upload_sessions s WHERE s.file_id = f.id) LIMIT $2")
        .execute(Tuple.of(age.toMillis() / 1000.0, limit))
        .map(rows -> {
          List<StaleUpload> out = new ArrayList<>();
          rows.forEach(row -> out.add(new StaleUpload(row.getUUID("id"), row.getString("tenant_id"), row.getString("device_id"),
              row.getString("object_key"), row.getString("multipart_upload_id"))));
          return out;
        });
  }

  static FileRecord single(RowSet<Row> rows, String what) {
    if (rows.rowCount() == 0) {
      throw ClientException.notFound(what);
    }
    return map(rows.iterator().next());
  }

  static Page<FileRecord> page(RowSet<Row> rows, int limit) {
    List<FileRecord> items = new ArrayList<>();
    rows.forEach(row -> items.add(map(row)));
    String next = null;
    if (items.size() > limit) {
      items.remove(items.size() - 1);
      FileRecord last = items.get(items.size() - 1);
      next = new Cursor(last.createdAt(), last.id()).encode();
    }
    return new Page<>(items, next);
  }
}
