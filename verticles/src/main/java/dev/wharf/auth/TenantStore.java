package dev.wharf.auth;

import dev.wharf.error.ClientException;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** Tenants and their devices, managed by the admin. */
public final class TenantStore {

  private final Pool pool;

  public TenantStore(Pool pool) {
    this.pool = pool;
  }

  public record Tenant(String id, String name) {}

  public record Device(String tenantId, String id, String name) {}

  /** Creates a tenant; an existing id is 409 {@code tenant_exists}. */
  public Future<Tenant> createTenant(String id, String name) {
    Ids.requireName("tenant", id);
    return pool.preparedQuery("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .execute(Tuple.of(id, name == null ? id : name))
        .<Tenant>map(rows -> new Tenant(id, name == null ? id : name))
        .recover(err -> Future.failedFuture(isDuplicate(err)
            ? ClientException.conflict("tenant_exists", "tenant '" + id + "' already exists")
            : err));
  }

  /** Creates a device in a tenant; 404 when the tenant is absent, 409 {@code device_exists} when taken. */
  public Future<Device> createDevice(String tenantId, String id, String name) {
    Ids.requireName("device", id);
    return pool.preparedQuery("INSERT INTO devices (tenant_id, id, name) SELECT id, $2, $3 FROM tenants WHERE id = $1")
        .execute(Tuple.of(tenantId, id, name))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.notFound("tenant");
          }
          return new Device(tenantId, id, name);
        })
        .recover(err -> Future.failedFuture(isDuplicate(err)
            ? ClientException.conflict("device_exists", "device '" + id + "' already exists")
            : err));
  }

  /** Whether the device exists in the tenant. */
  public Future<Boolean> deviceExists(String tenantId, String deviceId) {
    return pool.preparedQuery("SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2")
        .execute(Tuple.of(tenantId, deviceId))
        .map(rows -> rows.rowCount() > 0);
  }

  /** The tenants that have a device called {@code deviceId} (device ids are unique per tenant only). */
  public Future<java.util.List<String>> tenantsOfDevice(String deviceId) {
    return pool.preparedQuery("SELECT tenant_id FROM devices WHERE id = $1 LIMIT 2")
        .execute(Tuple.of(deviceId))
        .map(rows -> {
          java.util.List<String> tenants = new java.util.ArrayList<>();
          rows.forEach(row -> tenants.add(row.getString("tenant_id")));
          return tenants;
        });
  }

  static boolean isDuplicate(Throwable err) {
    return dev.wharf.db.Database.violates(err, "23505");
  }
}
