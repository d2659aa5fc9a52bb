package dev.wharf.delivery;

import dev.wharf.db.Cursor;
import dev.wharf.db.Page;
import dev.wharf.error.ClientException;
import dev.wharf.files.FileStatus;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * SQL for the {@code deliveries} aggregate and its object outbox ({@code pending_object_deletes}). Every
 * device read is scoped by tenant and device, every sender read by tenant; a delivery a caller may not
 * see is absent to it.
 */
public final class DeliveryStore {

  static final String COLUMNS = "id, tenant_id, device_id, sender, file_id, object_key, filename, content_type, size, sha256, "
      + "state, reject_reason, created_at, fetched_at, acked_at, rejected_at, expired_at, expires_at";

  /** Pending and not past its TTL: what a device may still fetch, ack or reject. */
  private static final String LIVE = "state IN ('staged', 'fetched') AND expires_at > now()";

  /** {@link #COLUMNS}, each qualified by the alias {@code d}. */
  private static final String D_COLUMNS = prefixed("d");

  // Statements with qualified columns are built once, not per call: building one (and hashing the new string in the
  // prepared-statement cache) was a few per cent of a batched ack's CPU.
  private static final String MARK_FETCHED = "WITH prev AS (SELECT id, state FROM deliveries WHERE id = $1 AND tenant_id = $2 "
      + "AND device_id = $3 AND " + LIVE + " FOR UPDATE) UPDATE deliveries d SET state = 'fetched', fetched_at = coalesce(d.fetched_at, now()) "
      + "FROM prev WHERE d.id = prev.id RETURNING " + D_COLUMNS + ", prev.state AS previous_state";

  private static final String MATCHES_INPUT = "d.id = i.id AND d.tenant_id = i.tenant_id AND d.device_id = i.device_id";

  private static final String ACK_OR_FIND_ALL =
      "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS i(id, tenant_id, device_id)), "
      + "live AS (SELECT d.id FROM deliveries d JOIN input i ON " + MATCHES_INPUT + " WHERE d.state IN ('staged', 'fetched') "
      + "AND d.expires_at > now() ORDER BY d.id FOR UPDATE OF d), "
      + "acked AS (UPDATE deliveries SET state = 'acked', acked_at = now() WHERE id IN (SELECT id FROM live) RETURNING " + COLUMNS + ") "
      + "SELECT true AS changed, " + COLUMNS + " FROM acked "
      + "UNION ALL SELECT false AS changed, " + D_COLUMNS + " FROM deliveries d JOIN input i ON " + MATCHES_INPUT
      + " WHERE d.id NOT IN (SELECT id FROM acked)";

  private DeliveryStore() {}

  /**
   * A row holding {@link #COLUMNS} in that order (anywhere in the row: some statements put a column of their own
   * first). Read by position from {@code id} on: a getter by name searches the row's column names each time,
   * eighteen times per delivery on the inbox's hottest paths.
   */
  static Delivery map(Row row) {
    int at = row.getColumnIndex("id");
    return new Delivery(
        row.getUUID(at),
        row.getString(at + 1),
        row.getString(at + 2),
        row.getString(at + 3),
        row.getUUID(at + 4),
        row.getString(at + 5),
        row.getString(at + 6),
        row.getString(at + 7),
        row.getLong(at + 8),
        row.getString(at + 9),
        DeliveryState.fromWire(row.getString(at + 10)),
        row.getString(at + 11),
        row.getOffsetDateTime(at + 12),
        row.getOffsetDateTime(at + 13),
        row.getOffsetDateTime(at + 14),
        row.getOffsetDateTime(at + 15),
        row.getOffsetDateTime(at + 16),
        row.getOffsetDateTime(at + 17));
  }

  private static List<Delivery> all(RowSet<Row> rows) {
    List<Delivery> out = new ArrayList<>(rows.rowCount());
    rows.forEach(row -> out.add(map(row)));
    return out;
  }

  private static Optional<Delivery> first(RowSet<Row> rows) {
    return rows.rowCount() == 0 ? Optional.empty() : Optional.of(map(rows.iterator().next()));
  }

  /** A new delivery before insert: what the staging knows of it. */
  record NewDelivery(UUID id, String tenantId, String deviceId, String sender, UUID fileId, String objectKey, String filename,
      String contentType, long size, String sha256, Duration ttl) {}

  /** Inserts the deliveries, all in the caller's transaction, and returns them as stored. */
  static Future<List<Delivery>> insert(SqlClient tx, List<NewDelivery> staged) {
    List<Tuple> batch = new ArrayList<>();
    for (NewDelivery d : staged) {
      batch.add(Tuple.tuple(Arrays.asList(d.id(), d.tenantId(), d.deviceId(), d.sender(), d.fileId(), d.objectKey(), d.fileId() == null,
          d.filename(), d.contentType(), d.size(), d.sha256(), (double) d.ttl().toMillis() / 1000.0)));
    }
    return tx.preparedQuery("INSERT INTO deliveries (id, tenant_id, device_id, sender, file_id, object_key, owns_object, filename, content_type, "
            + "size, sha256, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'staged', clock_timestamp(), "
            + "clock_timestamp() + make_interval(secs => $12)) "
            + "RETURNING " + COLUMNS)
        .executeBatch(batch)
        .map(rows -> {
          List<Delivery> out = new ArrayList<>();
          for (RowSet<Row> set = rows; set != null; set = set.next()) {
            set.forEach(row -> out.add(map(row)));
          }
          return out;
        });
  }

  /** A processed file as a delivery source. */
  record SourceFile(UUID id, FileStatus status, String statusDetail, String filename, String contentType, Long size, String sha256,
      String objectKey) {}

  /** The tenant's files among {@code ids}, locked against deletion until the transaction ends. */
  static Future<List<SourceFile>> lockFiles(SqlClient tx, String tenantId, List<UUID> ids) {
    return tx.preparedQuery("SELECT id, status, status_detail, filename, content_type, size, sha256, object_key FROM files "
            + "WHERE tenant_id = $1 AND id = ANY($2) FOR SHARE")
        .execute(Tuple.tuple().addString(tenantId).addArrayOfUUID(ids.toArray(new UUID[0])))
        .map(rows -> {
          List<SourceFile> out = new ArrayList<>();
          rows.forEach(r -> out.add(new SourceFile(r.getUUID("id"), FileStatus.fromWire(r.getString("status")), r.getString("status_detail"),
              r.getString("filename"), r.getString("content_type"), r.getLong("size"), r.getString("sha256"), r.getString("object_key"))));
          return out;
        });
  }

  static Future<Boolean> deviceExists(SqlClient sql, String tenantId, String deviceId) {
    return sql.preparedQuery("SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2")
        .execute(Tuple.of(tenantId, deviceId))
        .map(rows -> rows.rowCount() > 0);
  }

  /** The device's pending deliveries after {@code cursor}, oldest first. */
  static Future<Page<Delivery>> pending(SqlClient sql, String tenantId, String deviceId, Cursor after, int limit) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM deliveries WHERE tenant_id = $1 AND device_id = $2 AND " + LIVE
            + " AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4)) ORDER BY created_at, id LIMIT $5")
        .execute(Tuple.tuple(Arrays.asList(tenantId, deviceId, after == null ? null : after.createdAt(), after == null ? null : after.id(),
            limit + 1)))
        .map(rows -> page(all(rows), limit));
  }

  /** A fetch: {@code staged → fetched}, fetched_at stamped the first time. Empty when not live for the device. */
  static Future<Optional<Transition>> markFetched(SqlClient sql, String tenantId, String deviceId, UUID id) {
    return sql.preparedQuery(MARK_FETCHED)
        .execute(Tuple.of(id, tenantId, deviceId))
        .map(DeliveryStore::transition);
  }

  /** What an ack found: the delivery as it now is when this ack changed it, else as it stood before. */
  record Settled(boolean changed, Delivery delivery) {}

  /**
   * {@code staged | fetched → acked} and, when that changes nothing, the delivery as it stood, in one statement (one round trip for the
   * common repeat ack): empty when the device has no such delivery. Both parts read the statement's snapshot, so an
   * unchanged delivery shown {@code staged} or {@code fetched} was expired or changed by a concurrent request; the
   * caller reads it again then.
   */
  static Future<Optional<Settled>> ackOrFind(SqlClient sql, String tenantId, String deviceId, UUID id) {
    return sql.preparedQuery("WITH acked AS (UPDATE deliveries SET state = 'acked', acked_at = now() WHERE id = $1 AND tenant_id = $2 "
            + "AND device_id = $3 AND " + LIVE + " RETURNING " + COLUMNS + ") "
            + "SELECT true AS changed, " + COLUMNS + " FROM acked "
            + "UNION ALL SELECT false AS changed, " + COLUMNS + " FROM deliveries WHERE id = $1 AND tenant_id = $2 AND device_id = $3 "
            + "AND NOT EXISTS (SELECT 1 FROM acked)")
        .execute(Tuple.of(id, tenantId, deviceId))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            return Optional.empty();
          }
          Row row = rows.iterator().next();
          return Optional.of(new Settled(row.getBoolean("changed"), map(row)));
        });
  }

  /** One ack of a batch: the delivery, and the device that acks it. */
  record AckRequest(String tenantId, String deviceId, UUID id) {}

  /**
   * {@link #ackOrFind} for several acks in one statement (one round trip): each request's answer, in request order.
   * Every part is scoped by each request's own tenant and device, so a request naming another device's delivery finds
   * nothing even when the batch holds that device's own ack of it. The live rows are locked in id order before they
   * change, so two batches naming the same deliveries wait for each other instead of deadlocking. A delivery named by
   * two requests of the batch is acked once: the first request sees it {@code changed}, the others see it acked.
   */
  static Future<List<Optional<Settled>>> ackOrFindAll(SqlClient sql, List<AckRequest> requests) {
    UUID[] ids = new UUID[requests.size()];
    String[] tenants = new String[requests.size()];
    String[] devices = new String[requests.size()];
    for (int i = 0; i < ids.length; i++) {
      AckRequest r = requests.get(i);
      ids[i] = r.id();
      tenants[i] = r.tenantId();
      devices[i] = r.deviceId();
    }
    return sql.preparedQuery(ACK_OR_FIND_ALL)
        .execute(Tuple.of(ids, tenants, devices))
        .map(rows -> {
          Map<AckRequest, Settled> found = new HashMap<>();
          for (Row row : rows) {
            Delivery d = map(row);
            found.putIfAbsent(new AckRequest(d.tenantId(), d.deviceId(), d.id()), new Settled(row.getBoolean("changed"), d));
          }
          List<Optional<Settled>> answers = new ArrayList<>(requests.size());
          Set<AckRequest> answered = new HashSet<>();
          for (AckRequest r : requests) {
            Settled s = found.get(r);
            if (s != null && !answered.add(r)) {
              s = new Settled(false, s.delivery());
            }
            answers.add(Optional.ofNullable(s));
          }
          return answers;
        });
  }

  /** {@code staged | fetched → rejected} with a reason; empty when not live for the device. */
  static Future<Optional<Delivery>> reject(SqlClient sql, String tenantId, String deviceId, UUID id, String reason) {
    return sql.preparedQuery("UPDATE deliveries SET state = 'rejected', rejected_at = now(), reject_reason = $4 WHERE id = $1 AND tenant_id = $2 "
            + "AND device_id = $3 AND " + LIVE + " RETURNING " + COLUMNS)
        .execute(Tuple.of(id, tenantId, deviceId, reason))
        .map(DeliveryStore::first);
  }

  /** The delivery in any state, if it is the device's. */
  static Future<Optional<Delivery>> getForDevice(SqlClient sql, String tenantId, String deviceId, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM deliveries WHERE id = $1 AND tenant_id = $2 AND device_id = $3")
        .execute(Tuple.of(id, tenantId, deviceId))
        .map(DeliveryStore::first);
  }

  static Future<Delivery> getForSender(SqlClient sql, String tenantId, UUID id) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM deliveries WHERE id = $1 AND tenant_id = $2")
        .execute(Tuple.of(id, tenantId))
        .map(rows -> first(rows).orElseThrow(() -> ClientException.notFound("delivery")));
  }

  /** The tenant's deliveries, newest first, optionally of one device and in one state. */
  static Future<Page<Delivery>> list(SqlClient sql, String tenantId, String deviceId, DeliveryState state, Cursor before, int limit) {
    return sql.preparedQuery("SELECT " + COLUMNS + " FROM deliveries WHERE tenant_id = $1 AND ($2::text IS NULL OR device_id = $2) "
            + "AND ($3::text IS NULL OR state = $3) AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5)) "
            + "ORDER BY created_at DESC, id DESC LIMIT $6")
        .execute(Tuple.tuple(Arrays.asList(tenantId, deviceId, state == null ? null : state.wireName(),
            before == null ? null : before.createdAt(), before == null ? null : before.id(), limit + 1)))
        .map(rows -> page(all(rows), limit));
  }

  // --- the sweeper ---

  /** Marks up to {@code batch} pending deliveries past their TTL {@code expired}. */
  static Future<List<Delivery>> expireDue(SqlClient sql, int batch) {
    return sql.preparedQuery("UPDATE deliveries SET state = 'expired', expired_at = now() WHERE id IN (SELECT id FROM deliveries "
            + "WHERE state IN ('staged', 'fetched') AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.of(batch))
        .map(DeliveryStore::all);
  }

  /**
   * Deletes up to {@code batch} acked, rejected or expired deliveries finished longer than {@code retention}
   * ago. The table's trigger records each owned object in the outbox in the same transaction.
   */
  static Future<List<Delivery>> deleteFinished(SqlClient sql, Duration retention, int batch) {
    return sql.preparedQuery("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state IN ('acked', 'rejected', 'expired') "
            + "AND coalesce(acked_at, rejected_at, expired_at) < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED) "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.of((double) retention.toMillis() / 1000.0, batch))
        .map(DeliveryStore::all);
  }

  /** An object is about to be written for a staging: if the staging never commits, the sweeper deletes it after {@code grace}. */
  static Future<Void> recordIntent(SqlClient sql, String key, Duration grace) {
    return sql.preparedQuery("INSERT INTO pending_object_deletes (object_key, reason, not_before) VALUES ($1, 'staging not committed', "
            + "now() + make_interval(secs => $2))")
        .execute(Tuple.of(key, (double) grace.toSeconds()))
        .mapEmpty();
  }

  /** The staging commits: its intents are withdrawn. Answers how many were still there (fewer: the sweeper took some). */
  static Future<Integer> withdrawIntents(SqlClient tx, List<String> keys) {
    return tx.preparedQuery("DELETE FROM pending_object_deletes WHERE object_key = ANY($1)")
        .execute(Tuple.tuple().addArrayOfString(keys.toArray(new String[0])))
        .map(RowSet::rowCount);
  }

  /** Outbox entries due, locked until the caller's transaction ends; with whether a delivery still points at the object. */
  static Future<List<DueObject>> dueObjects(SqlClient tx, int batch) {
    return tx.preparedQuery("SELECT p.object_key, (EXISTS (SELECT 1 FROM deliveries d WHERE d.object_key = p.object_key) "
            + "OR EXISTS (SELECT 1 FROM files f WHERE f.object_key = p.object_key)) AS referenced "
            + "FROM pending_object_deletes p WHERE p.not_before <= now() ORDER BY p.not_before LIMIT $1 FOR UPDATE OF p SKIP LOCKED")
        .execute(Tuple.of(batch))
        .map(rows -> {
          List<DueObject> out = new ArrayList<>();
          rows.forEach(r -> out.add(new DueObject(r.getString("object_key"), r.getBoolean("referenced"))));
          return out;
        });
  }

  record DueObject(String key, boolean referenced) {}

  static Future<Void> forgetObject(SqlClient sql, String key) {
    return sql.preparedQuery("DELETE FROM pending_object_deletes WHERE object_key = $1").execute(Tuple.of(key)).mapEmpty();
  }

  /** A state change and the state before it. */
  record Transition(Delivery delivery, DeliveryState previous) {}

  private static Optional<Transition> transition(RowSet<Row> rows) {
    if (rows.rowCount() == 0) {
      return Optional.empty();
    }
    Row row = rows.iterator().next();
    return Optional.of(new Transition(map(row), DeliveryState.fromWire(row.getString("previous_state"))));
  }

  private static String prefixed(String alias) {
    StringBuilder out = new StringBuilder();
    for (String column : COLUMNS.split(",\\s*")) {
      out.append(out.length() == 0 ? "" : ", ").append(alias).append('.').append(column);
    }
    return out.toString();
  }

  private static Page<Delivery> page(List<Delivery> items, int limit) {
    String next = null;
    if (items.size() > limit) {
      items.remove(items.size() - 1);
      Delivery last = items.get(items.size() - 1);
      next = new Cursor(last.createdAt(), last.id()).encode();
    }
    return new Page<>(items, next);
  }
}
