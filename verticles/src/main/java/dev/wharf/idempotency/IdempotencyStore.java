package dev.wharf.idempotency;

import dev.wharf.auth.Principal;
import dev.wharf.error.ClientException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code Idempotency-Key} support: the first answer to a create request is stored and returned to every
 * retry with the same key, caller and scope. A key whose first request is still running answers 409
 * {@code idempotency_in_progress} while its lease ({@link #LEASE}) lasts; a first request that failed
 * releases its key, and one whose gateway died leaves a lease that runs out, so the retry runs anew. An
 * action that can record its answer in the transaction of its effect ({@link #completeIn}) leaves no
 * window in which the effect is committed and its answer lost.
 *
 * <p>Each claim holds a token of its own. A first request still running when its lease runs out and a retry
 * takes the key over is refused when it tries to record its answer (409 {@code idempotency_lease_lost}): the
 * transaction of its effect rolls back, so only the retry's effect and answer stand. Its failure does not
 * release the retry's claim either.
 */
public final class IdempotencyStore {

  /** Keys are kept this long; a retry after that runs as a new request. */
  public static final int RETENTION_HOURS = 24;

  /** How long a first request holds its key; a retry after that takes the key over. */
  public static final java.time.Duration LEASE = java.time.Duration.ofMinutes(5);

  private static final Logger log = LoggerFactory.getLogger(IdempotencyStore.class);

  private final Pool pool;

  public IdempotencyStore(Pool pool) {
    this.pool = pool;
  }

  /** The stored first answer. */
  public record Stored(int statusCode, JsonObject body) {}

  /**
   * An answer to a create request; {@code replayed} when it is the stored answer to an earlier request,
   * {@code recorded} when the action already stored it with its effect.
   */
  public record Answer(int statusCode, JsonObject body, boolean replayed, boolean recorded) {

    public Answer(int statusCode, JsonObject body, boolean replayed) {
      this(statusCode, body, replayed, false);
    }
  }

  /**
   * The key a request runs under, for actions that record their answer in their own transaction;
   * {@code token} is this request's claim of it.
   */
  public record Claim(Principal caller, String scope, String key, UUID token) {}

  /**
   * Runs {@code action} once per key: with no key it simply runs (given a null claim); with a key the first
   * request runs with its claim and its answer is stored, a retry gets that answer back, and a failure
   * releases the key.
   */
  public Future<Answer> once(Principal caller, String scope, String key, Function<Claim, Future<Answer>> action) {
    if (key == null) {
      return action.apply(null);
    }
    Claim claim = new Claim(caller, scope, key, UUID.randomUUID());
    return begin(claim).compose(stored -> {
      if (stored.isPresent()) {
        return Future.succeededFuture(new Answer(stored.get().statusCode(), stored.get().body(), true));
      }
      return action.apply(claim)
          .compose(answer -> answer.recorded() ? Future.succeededFuture(answer) : complete(claim, answer))
          .recover(err -> release(claim).transform(v -> Future.failedFuture(err)));
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
   * Claims the key for {@code claim}'s token. Empty when the caller should run the request (then record its
   * answer or {@link #release} the claim); the stored answer when a first request already finished.
   */
  private Future<Optional<Stored>> begin(Claim claim) {
    Principal caller = claim.caller();
    String scope = claim.scope();
    String key = claim.key();
    // A new key, a finished one past retention, or a running one whose lease ran out: this request takes it.
    return pool.preparedQuery("INSERT INTO idempotency_keys (tenant_id, principal, scope, key, lease_until, lease_token) "
            + "VALUES ($1, $2, $3, $4, now() + make_interval(secs => $6), $7) "
            + "ON CONFLICT (tenant_id, principal, scope, key) DO UPDATE SET created_at = now(), status_code = NULL, response = NULL, "
            + "lease_until = excluded.lease_until, lease_token = excluded.lease_token "
            + "WHERE idempotency_keys.created_at < now() - make_interval(hours => $5) "
            + "OR (idempotency_keys.status_code IS NULL AND idempotency_keys.lease_until < now()) RETURNING key")
        .execute(Tuple.of(caller.tenantId(), caller.name(), scope, key, RETENTION_HOURS, (double) LEASE.toSeconds(), claim.token()))
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

  /**
   * Records an answer whose effect committed on its own: when another request took the key over meanwhile,
   * the effect stands but the answer is not recorded (the retry's will be), which is logged.
   */
  private Future<Answer> complete(Claim claim, Answer answer) {
    return record(pool, claim, answer.statusCode(), answer.body()).map(recorded -> {
      if (!recorded) {
        log.warn("answer not recorded: the Idempotency-Key was taken over by a retry [scope={}, key={}]", claim.scope(), claim.key());
      }
      return answer;
    });
  }

  /**
   * Stores the answer of {@code claim} through {@code sql}: inside the transaction of the effect it describes.
   * Fails with 409 {@code idempotency_lease_lost} when the claim ran past its lease and a retry took the key
   * over: that failure rolls the transaction back, so only the retry's effect and answer stand.
   */
  public static Future<Void> completeIn(io.vertx.sqlclient.SqlClient sql, Claim claim, int statusCode, JsonObject body) {
    return record(sql, claim, statusCode, body).compose(recorded -> recorded ? Future.<Void>succeededFuture()
        : Future.failedFuture(ClientException.conflict("idempotency_lease_lost", "this request ran past its Idempotency-Key's "
            + LEASE.toMinutes() + "-minute lease and a retry took the key over; nothing this request did was kept. "
            + "Send the request again with the same key for the retry's answer")));
  }

  /** True when the answer was stored: the key is still this claim's. */
  private static Future<Boolean> record(io.vertx.sqlclient.SqlClient sql, Claim claim, int statusCode, JsonObject body) {
    Principal caller = claim.caller();
    return sql.preparedQuery("UPDATE idempotency_keys SET status_code = $5, response = $6, lease_until = NULL WHERE tenant_id = $1 "
            + "AND principal = $2 AND scope = $3 AND key = $4 AND status_code IS NULL AND lease_token = $7")
        .execute(Tuple.of(caller.tenantId(), caller.name(), claim.scope(), claim.key(), statusCode, body, claim.token()))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Gives the key up after a failure, unless another request holds it now. */
  private Future<Void> release(Claim claim) {
    Principal caller = claim.caller();
    return pool.preparedQuery("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND principal = $2 AND scope = $3 AND key = $4 "
            + "AND status_code IS NULL AND lease_token = $5")
        .execute(Tuple.of(caller.tenantId(), caller.name(), claim.scope(), claim.key(), claim.token()))
        .mapEmpty();
  }

  /** Deletes keys past retention, at most {@code limit}; run by the upload sweeper. */
  public static Future<Integer> prune(io.vertx.sqlclient.SqlClient sql, int limit) {
    return sql.preparedQuery("DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys "
            + "WHERE created_at < now() - make_interval(hours => $1) LIMIT $2)")
        .execute(Tuple.of(RETENTION_HOURS, limit))
        .map(io.vertx.sqlclient.RowSet::rowCount);
  }
}
