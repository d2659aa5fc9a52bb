package dev.wharf.uploads;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * A device's cap of open uploads, shared by MQTT grants and resumable sessions: both lock the device row,
 * count, and insert in one transaction, so two requests at once cannot both take the last slot.
 */
public final class OpenUploads {

  private OpenUploads() {}

  /** Locks the device's row for the transaction; false when the device does not exist. */
  public static Future<Boolean> lockDevice(SqlClient sql, String tenantId, String deviceId) {
    return sql.preparedQuery("SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .execute(Tuple.of(tenantId, deviceId))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Open grants (unused and unexpired, or uploading) plus sessions not yet completed. */
  public static Future<Integer> count(SqlClient sql, String tenantId, String deviceId) {
    return sql.preparedQuery("SELECT (SELECT count(*) FROM upload_grants WHERE tenant_id = $1 AND device_id = $2 "
            + "AND (state = 'uploading' OR (state = 'open' AND expires_at > now()))) "
            + "+ (SELECT count(*) FROM upload_sessions WHERE tenant_id = $1 AND device_id = $2 AND state <> 'completed') AS n")
        .execute(Tuple.of(tenantId, deviceId))
        .map(rows -> rows.iterator().next().getInteger("n"));
  }
}
