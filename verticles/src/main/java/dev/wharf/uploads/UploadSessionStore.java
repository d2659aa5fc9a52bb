package dev.wharf.uploads;

import dev.wharf.auth.Principal;
import dev.wharf.blob.PartInfo;
import dev.wharf.error.ClientException;
import dev.wharf.uploads.UploadSession.Protocol;
import dev.wharf.uploads.UploadSession.State;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

/** SQL for upload sessions, their parts and their audit trail. Device reads are scoped by tenant and device. */
final class UploadSessionStore {

  private static final String COLUMNS = "s.file_id, s.tenant_id, s.device_id, s.protocol, s.req, s.upload_id, s.object_key, "
      + "s.part_size, s.declared_length, s.expected_sha256, s.priority, s.state, s.parts_bytes, s.parts_count, s.tail_bytes, "
      + "s.hash_state, s.lease_owner, s.lease_until, s.expires_at, s.created_at, f.filename, f.content_type, s.paused_at";
  private static final String FROM = " FROM upload_sessions s JOIN files f ON f.id = s.file_id ";

  private UploadSessionStore() {}

  static UploadSession map(Row row) {
    Buffer hash = row.getBuffer("hash_state");
    return new UploadSession(
        row.getUUID("file_id"),
        row.getString("tenant_id"),
        row.getString("device_id"),
        Protocol.valueOf(row.getString("protocol").toUpperCase(Locale.ROOT)),
        row.getString("req"),
        row.getString("upload_id"),
        row.getString("object_key"),
        row.getInteger("part_size"),
        row.getLong("declared_length"),
        row.getString("expected_sha256"),
        row.getInteger("priority"),
        State.valueOf(row.getString("state").toUpperCase(Locale.ROOT)),
        row.getLong("parts_bytes"),
        row.getInteger("parts_count"),
        row.getInteger("tail_bytes"),
        hash == null ? null : hash.getBytes(),
        row.getString("lease_owner"),
        row.getOffsetDateTime("lease_until"),
        row.getOffsetDateTime("expires_at"),
        row.getOffsetDateTime("created_at"),
        row.getString("filename"),
        row.getString("content_type"),
        row.getOffsetDateTime("paused_at"));
  }

  private static List<UploadSession> all(RowSet<Row> rows) {
    List<UploadSession> out = new ArrayList<>();
    rows.forEach(row -> out.add(map(row)));
    return out;
  }

  static Future<Void> insert(SqlClient sql, UploadSession s, Duration ttl) {
    return sql.preparedQuery("INSERT INTO upload_sessions (file_id, tenant_id, device_id, protocol, req, upload_id, object_key, part_size, "
            + "declared_length, expected_sha256, priority, state, expires_at) "
            + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', now() + make_interval(secs => $12))")
        .execute(Tuple.tuple(Arrays.asList(s.fileId(), s.tenantId(), s.deviceId(), s.protocol().name().toLowerCase(Locale.ROOT), s.req(),
            s.uploadId(), s.objectKey(), s.partSize(), s.declaredLength(), s.expectedSha256(), s.priority(), (double) ttl.toSeconds())))
        .mapEmpty();
  }

  /** The session if {@code caller} owns it; 404 otherwise, the same answer for absent and not-yours. */
  static Future<UploadSession> get(SqlClient sql, Principal caller, UUID fileId, Protocol protocol) {
    return sql.preparedQuery("SELECT " + COLUMNS + FROM + "WHERE s.file_id = $1 AND s.tenant_id = $2 AND s.device_id = $3 AND s.protocol = $4")
        .execute(Tuple.of(fileId, caller.tenantId(), caller.deviceId(), protocol.name().toLowerCase(Locale.ROOT)))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.notFound("upload");
          }
          return map(rows.iterator().next());
        });
  }

  static Future<UploadSession> getById(SqlClient sql, UUID fileId) {
    return sql.preparedQuery("SELECT " + COLUMNS + FROM + "WHERE s.file_id = $1")
        .execute(Tuple.of(fileId))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.notFound("upload");
          }
          return map(rows.iterator().next());
        });
  }

  static Future<Optional<UploadSession>> byRequest(SqlClient sql, Principal device, String req) {
    return sql.preparedQuery("SELECT " + COLUMNS + FROM + "WHERE s.tenant_id = $1 AND s.device_id = $2 AND s.req = $3")
        .execute(Tuple.of(device.tenantId(), device.deviceId(), req))
        .map(rows -> rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next())));
  }

  /**
   * Takes the append lease of an active session for {@code owner} when nobody holds it (or the holder's
   * lease ran out). Empty when the session is absent, not the caller's, or leased by someone else.
   */
  static Future<Optional<UploadSession>> lease(SqlClient sql, Principal caller, UUID fileId, Protocol protocol, String owner, Duration lease) {
    return sql.preparedQuery("WITH taken AS (UPDATE upload_sessions SET lease_owner = $5, lease_until = now() + make_interval(secs => $6) "
            + "WHERE file_id = $1 AND tenant_id = $2 AND device_id = $3 AND protocol = $4 AND state = 'active' "
            + "AND (lease_owner IS NULL OR lease_until < now()) RETURNING *) "
            + "SELECT " + COLUMNS + " FROM taken s JOIN files f ON f.id = s.file_id")
        .execute(Tuple.of(fileId, caller.tenantId(), caller.deviceId(), protocol.name().toLowerCase(Locale.ROOT), owner, seconds(lease)))
        .map(rows -> rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next())));
  }

  /** Any session (for the sweeper), leased when free and in one of {@code states}. */
  static Future<Optional<UploadSession>> leaseForSweep(SqlClient sql, UUID fileId, String owner, Duration lease) {
    return sql.preparedQuery("WITH taken AS (UPDATE upload_sessions SET lease_owner = $2, lease_until = now() + make_interval(secs => $3) "
            + "WHERE file_id = $1 AND state <> 'completed' AND (lease_owner IS NULL OR lease_until < now()) RETURNING *) "
            + "SELECT " + COLUMNS + " FROM taken s JOIN files f ON f.id = s.file_id")
        .execute(Tuple.of(fileId, owner, seconds(lease)))
        .map(rows -> rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next())));
  }

  /**
   * Pauses (or, with {@code pause} false, resumes) the caller's active direct session: its expiry becomes
   * {@code keep} from now. A repeated pause keeps the first {@code paused_at}. Empty when there is no such session.
   */
  static Future<Optional<UploadSession>> setPaused(SqlClient sql, Principal caller, UUID fileId, boolean pause, Duration keep) {
    return sql.preparedQuery("WITH p AS (UPDATE upload_sessions SET paused_at = CASE WHEN $4 THEN coalesce(paused_at, now()) END, "
            + "expires_at = now() + make_interval(secs => $5), updated_at = now() "
            + "WHERE file_id = $1 AND tenant_id = $2 AND device_id = $3 AND protocol = 'direct' AND state = 'active' RETURNING *) "
            + "SELECT " + COLUMNS + " FROM p s JOIN files f ON f.id = s.file_id")
        .execute(Tuple.of(fileId, caller.tenantId(), caller.deviceId(), pause, seconds(keep)))
        .map(rows -> rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next())));
  }

  /** Extends a lease still held by {@code owner}; false when it was lost. */
  static Future<Boolean> renew(SqlClient sql, UUID fileId, String owner, Duration lease) {
    return sql.preparedQuery("UPDATE upload_sessions SET lease_until = now() + make_interval(secs => $3) WHERE file_id = $1 AND lease_owner = $2")
        .execute(Tuple.of(fileId, owner, seconds(lease)))
        .map(rows -> rows.rowCount() == 1);
  }

  static Future<Void> release(SqlClient sql, UUID fileId, String owner) {
    return sql.preparedQuery("UPDATE upload_sessions SET lease_owner = NULL, lease_until = NULL WHERE file_id = $1 AND lease_owner = $2")
        .execute(Tuple.of(fileId, owner))
        .mapEmpty();
  }

  /**
   * Records what is now durable, fenced by the lease: the offset's parts and tail, the hash state, the
   * length if it was deferred, and the new expiry. False when the lease was lost.
   */
  static Future<Boolean> checkpoint(SqlClient sql, UUID fileId, String owner, long partsBytes, int partsCount, int tailBytes,
      byte[] hashState, Long declaredLength, State state, Duration ttl) {
    return sql.preparedQuery("UPDATE upload_sessions SET parts_bytes = $3, parts_count = $4, tail_bytes = $5, hash_state = $6, "
            + "declared_length = coalesce($7, declared_length), state = $8, expires_at = now() + make_interval(secs => $9), updated_at = now() "
            + "WHERE file_id = $1 AND lease_owner = $2")
        .execute(Tuple.tuple(Arrays.asList(fileId, owner, partsBytes, partsCount, tailBytes,
            hashState == null ? null : Buffer.buffer(hashState), declaredLength, state.name().toLowerCase(Locale.ROOT), seconds(ttl))))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Pushes an active session's expiry out: its device is still at it (direct mode, where no byte passes here). */
  static Future<Void> extend(SqlClient sql, UUID fileId, Duration ttl) {
    return sql.preparedQuery("UPDATE upload_sessions SET expires_at = now() + make_interval(secs => $2), updated_at = now() "
            + "WHERE file_id = $1 AND state = 'active' AND paused_at IS NULL")
        .execute(Tuple.of(fileId, seconds(ttl)))
        .mapEmpty();
  }

  static Future<Void> insertPart(SqlClient sql, UUID fileId, PartInfo part, String sha256) {
    return sql.preparedQuery("INSERT INTO upload_parts (file_id, part_number, size, etag, sha256) VALUES ($1, $2, $3, $4, $5) "
            + "ON CONFLICT (file_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, sha256 = excluded.sha256, created_at = now()")
        .execute(Tuple.of(fileId, part.number(), part.size(), part.etag(), sha256))
        .mapEmpty();
  }

  static Future<List<PartInfo>> parts(SqlClient sql, UUID fileId) {
    return sql.preparedQuery("SELECT part_number, size, etag FROM upload_parts WHERE file_id = $1 ORDER BY part_number")
        .execute(Tuple.of(fileId))
        .map(rows -> {
          List<PartInfo> out = new ArrayList<>();
          rows.forEach(r -> out.add(new PartInfo(r.getInteger("part_number"), r.getLong("size"), r.getString("etag"))));
          return out;
        });
  }

  static Future<Void> markCompleted(SqlClient sql, UUID fileId) {
    return sql.preparedQuery("UPDATE upload_sessions SET state = 'completed', lease_owner = NULL, lease_until = NULL, hash_state = NULL, "
            + "updated_at = now() WHERE file_id = $1")
        .execute(Tuple.of(fileId))
        .mapEmpty();
  }

  /** Sessions past their expiry and not leased: abandoned. */
  static Future<List<UploadSession>> expired(SqlClient sql, int limit) {
    return sql.preparedQuery("SELECT " + COLUMNS + FROM + "WHERE s.state = 'active' AND s.expires_at < now() "
            + "AND (s.lease_until IS NULL OR s.lease_until < now()) LIMIT $1")
        .execute(Tuple.of(limit))
        .map(UploadSessionStore::all);
  }

  /** Sessions left completing by a gateway that stopped before the commit. */
  static Future<List<UploadSession>> stuckCompleting(SqlClient sql, int limit) {
    return sql.preparedQuery("SELECT " + COLUMNS + FROM + "WHERE s.state = 'completing' AND (s.lease_until IS NULL OR s.lease_until < now()) LIMIT $1")
        .execute(Tuple.of(limit))
        .map(UploadSessionStore::all);
  }

  /** Which of {@code uploadIds} a file or session row owns. */
  static Future<List<String>> owned(SqlClient sql, List<String> uploadIds) {
    String[] ids = uploadIds.toArray(String[]::new);
    return sql.preparedQuery("SELECT upload_id AS id FROM upload_sessions WHERE upload_id = ANY($1) "
            + "UNION SELECT multipart_upload_id FROM files WHERE multipart_upload_id = ANY($1)")
        .execute(Tuple.of(ids))
        .map(rows -> {
          List<String> out = new ArrayList<>();
          rows.forEach(r -> out.add(r.getString("id")));
          return out;
        });
  }

  static Future<Void> deleteFile(SqlClient sql, UUID fileId) {
    return sql.preparedQuery("DELETE FROM files WHERE id = $1").execute(Tuple.of(fileId)).mapEmpty();
  }

  /** Queues an object for the outbox sweeper to delete (an upload's tail, once it is no longer needed). */
  static Future<Void> forgetObject(SqlClient sql, String key, String reason) {
    return sql.preparedQuery("INSERT INTO pending_object_deletes (object_key, reason) VALUES ($1, $2) "
            + "ON CONFLICT (object_key) DO UPDATE SET not_before = now()")
        .execute(Tuple.of(key, reason))
        .mapEmpty();
  }

  static Future<Void> audit(SqlClient sql, String tenantId, String deviceId, UUID fileId, String event, String actor,
      String requestId, JsonObject detail) {
    return sql.preparedQuery("INSERT INTO audit_events (tenant_id, device_id, file_id, event, actor, request_id, detail) "
            + "VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .execute(Tuple.tuple(Arrays.asList(tenantId, deviceId, fileId, event, actor, requestId, detail == null ? new JsonObject() : detail)))
        .mapEmpty();
  }

  /** The audit trail of one file, oldest first; scoped to the caller's tenant (and device, for devices). */
  static Future<List<JsonObject>> events(SqlClient sql, Principal caller, UUID fileId, int limit) {
    return sql.preparedQuery("SELECT id, device_id, event, actor, request_id, detail, created_at FROM audit_events "
            + "WHERE tenant_id = $1 AND file_id = $2 AND ($3::text IS NULL OR device_id = $3) ORDER BY id LIMIT $4")
        .execute(Tuple.of(caller.tenantId(), fileId, caller.isDevice() ? caller.deviceId() : null, limit))
        .map(rows -> {
          List<JsonObject> out = new ArrayList<>();
          rows.forEach(r -> {
            JsonObject e = new JsonObject()
                .put("id", r.getLong("id"))
                .put("device", r.getString("device_id"))
                .put("event", r.getString("event"))
                .put("actor", r.getString("actor"))
                .put("at", r.getOffsetDateTime("created_at").toInstant().toString());
            if (r.getString("request_id") != null) {
              e.put("request_id", r.getString("request_id"));
            }
            Object detail = r.getValue("detail");
            if (detail instanceof JsonObject d && !d.isEmpty()) {
              e.put("detail", d);
            }
            out.add(e);
          });
          return out;
        });
  }

  static Future<Integer> pruneAudit(SqlClient sql, Duration retention, int limit) {
    return sql.preparedQuery("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE created_at < now() - make_interval(secs => $1) LIMIT $2)")
        .execute(Tuple.of(seconds(retention), limit))
        .map(RowSet::rowCount);
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }
}
