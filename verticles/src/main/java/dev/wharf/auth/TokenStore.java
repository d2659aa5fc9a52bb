package dev.wharf.auth;

import dev.wharf.error.ClientException;
import dev.wharf.events.NoticeCache;
import dev.wharf.events.NoticeRelay;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer tokens. A token is 32 random bytes, shown once at issue; only its SHA-256 is stored, so a
 * database leak yields no usable token. Device tokens start {@code wh_d_}, sender tokens {@code wh_s_}.
 *
 * <p>A token that authenticated is remembered by its SHA-256 (never the secret) for {@code cacheTtl} (see
 * {@link NoticeCache}); unknown tokens are never remembered. Revoking drops it
 * here before the answer, and publishes {@link #REVOKED_ADDRESS} on the event bus after the commit: the notice
 * relay carries that to the other replicas, where {@link #listen} drops it too.
 */
public final class TokenStore {

  /** Event bus address of revocations: {@code {"token": id, "tenant": tenant}}, published after the commit. */
  public static final String REVOKED_ADDRESS = "wharf.auth.token-revoked";

  private static final Logger log = LoggerFactory.getLogger(TokenStore.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });
  private static final String AUTHENTICATE =
      "SELECT id, tenant_id, device_id, kind, scopes FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL";

  private final Vertx vertx;
  private final Pool pool;
  private final NoticeCache<Buffer, Principal> cache;
  private final LongAdder cacheHits = new LongAdder();
  private final LongAdder reads = new LongAdder();

  /** Without a cache: every authentication reads PostgreSQL. */
  public TokenStore(Pool pool) {
    this(null, pool, Duration.ZERO, 0);
  }

  /**
   * With a cache of at most {@code cacheSize} tokens, each kept {@code cacheTtl} after it was read ({@code ZERO}
   * turns it off); {@code vertx} carries revocation notices.
   */
  public TokenStore(Vertx vertx, Pool pool, Duration cacheTtl, int cacheSize) {
    this.vertx = vertx;
    this.pool = pool;
    this.cache = new NoticeCache<>(cacheTtl, cacheSize, true);
  }

  /**
   * Drops cached tokens on revocation notices, local or relayed from other replicas, and stands the cache down
   * while the notice relay cannot hear them ({@link NoticeRelay#STATE_ADDRESS}); answers once the consumers are
   * registered. Deploy the notice relay with {@link #REVOKED_ADDRESS} among its addresses.
   */
  public Future<Void> listen() {
    if (vertx == null) {
      return Future.succeededFuture();
    }
    Future<Void> revoked = vertx.eventBus().<JsonObject>localConsumer(REVOKED_ADDRESS, msg -> {
      String token = msg.body() == null ? null : msg.body().getString("token");
      if (token != null) {
        forget(token);
      }
    }).completion();
    Future<Void> relay = cache.followRelay(vertx, log,
        "revocation notices from other replicas may be missed: token cache off until the relay listens again",
        "token cache on again: the relay listens, every token is read afresh");
    return Future.all(revoked, relay).mapEmpty();
  }

  private void forget(String tokenId) {
    cache.forgetIf(principal -> tokenId.equals(principal.tokenId()));
  }

  /** Authentications answered from the cache so far. */
  public long cacheHits() {
    return cacheHits.sum();
  }

  /** Authentications that read PostgreSQL so far. */
  public long reads() {
    return reads.sum();
  }

  /** A token just issued; {@code secret} is never stored and cannot be shown again. */
  public record IssuedToken(UUID id, String secret, Principal.Kind kind, String tenantId, String deviceId, Set<String> scopes) {}

  /** Issues a device token for {@code deviceId} (which must exist in the tenant: else 404). */
  public Future<IssuedToken> issueDeviceToken(String tenantId, String deviceId, String label) {
    return issue(tenantId, deviceId, Principal.Kind.DEVICE, Set.of(), label);
  }

  /** Issues a sender token with {@code scopes} in {@code tenantId}. */
  public Future<IssuedToken> issueSenderToken(String tenantId, Set<String> scopes, String label) {
    for (String scope : scopes) {
      if (!Principal.KNOWN_SCOPES.contains(scope)) {
        return Future.failedFuture(ClientException.badRequest("invalid_scope", "unknown scope '" + scope + "'; known: " + new TreeSet<>(Principal.KNOWN_SCOPES)));
      }
    }
    if (scopes.isEmpty()) {
      return Future.failedFuture(ClientException.badRequest("invalid_scope", "a sender token needs at least one scope"));
    }
    return issue(tenantId, null, Principal.Kind.SENDER, scopes, label);
  }

  private Future<IssuedToken> issue(String tenantId, String deviceId, Principal.Kind kind, Set<String> scopes, String label) {
    UUID id = UUID.randomUUID();
    String secret = (kind == Principal.Kind.DEVICE ? "wh_d_" : "wh_s_") + randomSecret();
    String sql = deviceId == null
        ? "INSERT INTO tokens (id, tenant_id, device_id, kind, scopes, token_hash, label) "
            + "SELECT $1, id, $3, $4, $5, $6, $7 FROM tenants WHERE id = $2"
        : "INSERT INTO tokens (id, tenant_id, device_id, kind, scopes, token_hash, label) "
            + "SELECT $1, tenant_id, id, $4, $5, $6, $7 FROM devices WHERE tenant_id = $2 AND id = $3";
    return pool.preparedQuery(sql)
        .execute(Tuple.of(id, tenantId, deviceId, kind.name().toLowerCase(), scopes.toArray(new String[0]), hash(secret), label))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.notFound(deviceId == null ? "tenant" : "device");
          }
          return new IssuedToken(id, secret, kind, tenantId, deviceId, Set.copyOf(scopes));
        });
  }

  /** The principal a bearer secret stands for, or a 401 when it is unknown or revoked. */
  public Future<Principal> authenticate(String secret) {
    if (secret == null || !(secret.startsWith("wh_d_") || secret.startsWith("wh_s_")) || secret.length() > 128) {
      return Future.failedFuture(ClientException.unauthorized("unknown or revoked token"));
    }
    Buffer hash = hash(secret);
    Principal cached = cache.get(hash);
    if (cached != null) {
      cacheHits.increment();
      return Future.succeededFuture(cached);
    }
    reads.increment();
    long generation = cache.generation();
    return pool.preparedQuery(AUTHENTICATE)
        .execute(Tuple.of(hash))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.unauthorized("unknown or revoked token");
          }
          Row row = rows.iterator().next();
          Principal.Kind kind = "device".equals(row.getString("kind")) ? Principal.Kind.DEVICE : Principal.Kind.SENDER;
          String[] scopes = row.getArrayOfStrings("scopes");
          Principal principal = new Principal(kind, row.getString("tenant_id"), row.getString("device_id"),
              scopes == null ? Set.of() : Set.copyOf(List.of(scopes)), row.getUUID("id").toString());
          cache.put(hash, principal, generation);
          return principal;
        })
        .recover(err -> Future.failedFuture(dev.wharf.error.Outages.asUnavailable("postgres", err)));
  }

  /**
   * Revokes a token of the tenant; 404 when it is not the tenant's. Revoking twice is success. Once committed,
   * this process forgets the token before answering, and the other replicas are told (at most once: a lost
   * notice leaves them at most the cache TTL).
   */
  public Future<Void> revoke(String tenantId, UUID tokenId) {
    return pool.preparedQuery("UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2")
        .execute(Tuple.of(tenantId, tokenId))
        .map(rows -> {
          if (rows.rowCount() == 0) {
            throw ClientException.notFound("token");
          }
          forget(tokenId.toString());
          if (vertx != null) {
            vertx.eventBus().publish(REVOKED_ADDRESS, new JsonObject().put("token", tokenId.toString()).put("tenant", tenantId));
          }
          log.info("token revoked [tenant={}, token={}]", tenantId, tokenId);
          return null;
        });
  }

  static String randomSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static Buffer hash(String secret) {
    // digest() resets the instance; one per thread spares a provider lookup per request (event loops are few and fixed).
    return Buffer.buffer(SHA256.get().digest(secret.getBytes(StandardCharsets.UTF_8)));
  }
}
