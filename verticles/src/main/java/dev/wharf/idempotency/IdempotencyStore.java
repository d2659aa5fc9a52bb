package dev.wharf.idempotency;

import dev.wharf.auth.Principal;
import dev.wharf.error.ClientException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.Optional;

/**
 * {@code Idempotency-Key} support: the first answer to a create request is stored and returned to every
 * retry with the same key, caller and scope. A key whose first request is still running answers 409
 * {@code idempotency_in_progress}; a first request that failed releases its key so the retry runs anew.
 */
public final class IdempotencyStore {

  /** Keys are kept this long; a retry after that runs as a new request. */
  public static final int RETENTION_HOURS = 24;

  private final Pool pool;

  public IdempotencyStore(Pool pool) {
    this.pool = pool;
  }

  /** The stored first answer. */
  public record Stored(int statusCode, JsonObject body) {}

  /** An answer to a create request; {@code replayed} when it is the stored answer to an earlier request. */
  public record Answer(int statusCode, JsonObject body, boolean replayed) {}

  /**
   * Runs {@code action} once per key: with no key it simply runs; with a key the first request runs and
   * its answer is stored, a retry gets that answer back, and a failure releases the key.
   */
  public Future<Answer> once(Principal caller, String scope, String key, java.util.function.Supplier<Future<Answer>> action) {
    if (key == null) {
      return action.get();
    }
    return begin(caller, scope, key).compose(stored -> {
      if (stored.isPresent()) {
        return Future.succeededFuture(new Answer(stored.get().statusCode(), stored.get().body(), true));
      }
      return action.get()
          .compose(answer -> complete(caller, scope, key, answer.statusCode(), answer.body()).map(answer))
          .recover(err -> release(caller, scope, key).transform(v -> Future.failedFuture(err)));
    });
  }

  /** Validates a header value; null means no key. */
  public static String validKey(String key) {
    if (key == null) {
      return null;
    }
    if (key.isEmpty() || key.length() > 200 || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw ClientException.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1-200 visible ASCII characters");
    }
    return key;
  }

  /**
   * Claims the key. Empty when the caller should run the request (then {@link #complete} or
   * {@link #release}); the stored answer when a first request already finished.
   */
  public Future<Optional<Stored>> begin(Principal caller, String scope, String key) {
    return pool.preparedQuery("INSERT INTO idempotency_keys (tenant_id, principal, scope, key) VALUES ($1, $2, $3, $4) "
            + "ON CONFLICT (tenant_id, principal, scope, key) DO UPDATE SET created_at = now(), status_code = NULL, response = NULL "
            + "WHERE idempotency_keys.created_at < now() - make_interval(hours => $5) RETURNING key")
        .execute(Tuple.of(caller.tenantId(), caller.name(), scope, key, RETENTION_HOURS))
        .compose(inserted -> inserted.rowCount() == 1
            ? Future.succeededFuture(Optional.<Stored>empty())
            : pool.preparedQuery("SELECT status_code, response FROM idempotency_keys WHERE tenant_id = $1 AND principal = $2 AND scope = $3 AND key = $4")
                .execute(Tuple.of(caller.tenantId(), caller.name(), scope, key))
                .map(rows -> {
                  var row = rows.iterator().next();
                  Integer status = row.getInteger("status_code");
                  if (status == null) {
                    throw ClientException.conflict("idempotency_in_progress", "a request with this Idempotency-Key is still running");
                  }
                  return Optional.of(new Stored(status, (JsonObject) row.getValue("response")));
                }));
  }

  public Future<Void> complete(Principal caller, String scope, String key, int statusCode, JsonObject body) {
    return pool.preparedQuery("UPDATE idempotency_keys SET status_code = $5, response = $6 WHERE tenant_id = $1 AND principal = $2 AND scope = $3 AND key = $4")
        .execute(Tuple.of(caller.tenantId(), caller.name(), scope, key, statusCode, body))
        .mapEmpty();
  }

  public Future<Void> release(Principal caller, String scope, String key) {
    return pool.preparedQuery("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND principal = $2 AND scope = $3 AND key = $4 AND status_code IS NULL")
        .execute(Tuple.of(caller.tenantId(), caller.name(), scope, key))
        .mapEmpty();
  }
}
