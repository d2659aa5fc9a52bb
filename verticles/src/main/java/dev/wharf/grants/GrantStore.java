package dev.wharf.grants;

import dev.wharf.grants.UploadGrant.State;
import dev.wharf.files.Priority;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.UUID;

/** SQL for the {@code upload_grants} aggregate. */
final class GrantStore {

  private static final String COLUMNS = "id, tenant_id, device_id, req, filename, size, sha256, content_type, priority, state, expires_at";

  private GrantStore() {}

  static UploadGrant map(Row row) {
    return new UploadGrant(
        row.getUUID("id"),
        row.getString("tenant_id"),
        row.getString("device_id"),
        row.getString("req"),
        row.getString("filename"),
        row.getLong("size"),
        row.getString("sha256"),
        row.getString("content_type"),
        Priority.ofBand(row.getInteger("priority")),
        State.fromWire(row.getString("state")),
        row.getOffsetDateTime("expires_at"));
  }

  private static Optional<UploadGrant> first(RowSet<Row> rows) {
    return rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next()));
  }

  static Future<Optional<UploadGrant>> byRequest(SqlClient sql, String tenantId, String deviceId, String req) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM upload_grants WHERE tenant_id = $1 AND device_id = $2 AND req = $3")
        .execute(Tuple.of(tenantId, deviceId, req))
        .map(GrantStore::first);
  }

  static Future<UploadGrant> insert(SqlClient sql, UploadGrant g, Buffer tokenHash, Duration ttl) {
    return sql.preparedQuery("INSERT INTO upload_grants (id, tenant_id, device_id, req, token_hash, filename, size, sha256, content_type, "
            + "priority, state, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', now() + make_interval(secs => $11)) "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.tuple(Arrays.asList(g.id(), g.tenantId(), g.deviceId(), g.req(), tokenHash, g.filename(), g.size(), g.sha256(),
            g.contentType(), g.priority().band(), ttl.toMillis() / 1000.0)))
        .map(rows -> map(rows.iterator().next()));
  }

  /** {@code open → uploading} for an unexpired grant; empty when the token is unknown or not usable now. */
  static Future<Optional<UploadGrant>> claim(SqlClient sql, Buffer tokenHash) {
    return sql.preparedQuery("UPDATE upload_grants SET state = 'uploading', claimed_at = now() "
            + "WHERE token_hash = $1 AND state = 'open' AND expires_at > now() RETURNING " + COLUMNS)
        .execute(Tuple.of(tokenHash))
        .map(GrantStore::first);
  }

  static Future<Optional<UploadGrant>> byToken(SqlClient sql, Buffer tokenHash) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM upload_grants WHERE token_hash = $1")
        .execute(Tuple.of(tokenHash))
        .map(GrantStore::first);
  }

  /** {@code uploading → used} or, after a failed PUT, {@code uploading → open}. */
  static Future<Boolean> finish(SqlClient sql, UUID id, boolean used) {
    return sql.preparedQuery(used
            ? "UPDATE upload_grants SET state = 'used', used_at = now() WHERE id = $1 AND state = 'uploading'"
            : "UPDATE upload_grants SET state = 'open', claimed_at = NULL WHERE id = $1 AND state = 'uploading'")
        .execute(Tuple.of(id))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Marks open grants past their expiry expired; answers how many. */
  static Future<Integer> expireDue(SqlClient sql, int limit) {
    return sql.preparedQuery("UPDATE upload_grants SET state = 'expired' WHERE id IN (SELECT id FROM upload_grants "
            + "WHERE state = 'open' AND expires_at <= now() LIMIT $1)")
        .execute(Tuple.of(limit))
        .map(RowSet::rowCount);
  }

  /**
   * Settles grants left {@code uploading} longer than {@code stale} by a gateway that died mid-PUT: used when
   * the file was committed, else expired.
   */
  static Future<Integer> settleStale(SqlClient sql, Duration stale) {
    return sql.preparedQuery("UPDATE upload_grants g SET state = CASE WHEN EXISTS (SELECT 1 FROM files f WHERE f.id = g.id "
            + "AND f.status <> 'uploading') THEN 'used' ELSE 'expired' END, used_at = now() "
            + "WHERE g.state = 'uploading' AND g.claimed_at < now() - make_interval(secs => $1)")
        .execute(Tuple.of((double) stale.toSeconds()))
        .map(RowSet::rowCount);
  }

  /** Drops used and expired grants older than {@code retention}; a repeated request after that is a new one. */
  static Future<Integer> purge(SqlClient sql, Duration retention, int limit) {
    return sql.preparedQuery("DELETE FROM upload_grants WHERE id IN (SELECT id FROM upload_grants WHERE state IN ('used', 'expired') "
            + "AND expires_at < now() - make_interval(secs => $1) LIMIT $2)")
        .execute(Tuple.of((double) retention.toSeconds(), limit))
        .map(RowSet::rowCount);
  }
}
