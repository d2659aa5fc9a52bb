package dev.wharf.grants;

import dev.wharf.auth.Principal;
import dev.wharf.config.GrantConfig;
import dev.wharf.db.Database;
import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import dev.wharf.files.FileService;
import dev.wharf.files.FileService.UploadCommand;
import dev.wharf.files.FileService.Uploaded;
import dev.wharf.grants.UploadGrant.State;
import dev.wharf.files.Priority;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upload grants: a device asks for an upload (over MQTT) and receives a short-lived, single-use token for
 * one HTTP PUT of exactly the announced size (and checksum, when given). The token is derived from the
 * grant id with an HMAC, so a repeated request can be answered with the same URL, and only its SHA-256 is
 * stored. A device holds at most {@code maxOpenUploads} grants open; one never used frees its slot when it
 * expires.
 */
public final class GrantService {

  private static final Logger log = LoggerFactory.getLogger(GrantService.class);
  private static final Pattern REQ = Pattern.compile("[\\x21-\\x7e]{1,128}");
  private static final String TOKEN_PREFIX = "wh_g_";

  private final Pool pool;
  private final FileService files;
  private final GrantConfig config;
  private final WharfMetrics metrics;

  public GrantService(Pool pool, FileService files, GrantConfig config, WharfMetrics metrics) {
    this.pool = pool;
    this.files = files;
    this.config = config;
    this.metrics = metrics;
  }

  /** What a device asked for. */
  public record GrantRequest(String req, String filename, long size, String sha256, String contentType, Priority priority) {}

  /** A grant and the token of its URL; {@code replayed} when the request had been answered before. */
  public record IssuedGrant(UploadGrant grant, String token, boolean replayed) {}

  public GrantConfig config() {
    return config;
  }

  /**
   * Grants an upload, or answers the grant already issued for the same {@code req}. Fails with 400
   * {@code bad_request} (or the file service's own codes) for a malformed request, 413 {@code too_large},
   * 429 {@code too_many_open_uploads}, 409 {@code req_reused} when the same {@code req} asked for another
   * file, 410 {@code grant_expired} when its grant expired unused.
   */
  public Future<IssuedGrant> issue(Principal device, GrantRequest request) {
    UploadGrant proposed;
    try {
      proposed = validate(device.requireDevice(), request);
    } catch (WharfException e) {
      metrics.count("wharf_grants_total", "outcome", e.code(), 1);
      return Future.failedFuture(e);
    }
    return pool.withTransaction(tx -> dev.wharf.uploads.OpenUploads.lockDevice(tx, device.tenantId(), device.deviceId())
            .compose(exists -> {
              if (!exists) {
                throw ClientException.unauthorized("the device no longer exists");
              }
              return GrantStore.byRequest(tx, device.tenantId(), device.deviceId(), request.req());
            })
            .compose(previous -> {
              if (previous.isPresent()) {
                return Future.succeededFuture(replay(previous.get(), proposed));
              }
              return dev.wharf.uploads.OpenUploads.count(tx, device.tenantId(), device.deviceId()).compose(open -> {
                if (open >= config.maxOpenUploads()) {
                  throw new ClientException(429, "too_many_open_uploads", "the device already has " + open
                      + " uploads open (limit " + config.maxOpenUploads() + "); finish one or wait for it to expire");
                }
                String token = token(proposed.id());
                return GrantStore.insert(tx, proposed, hash(token), config.ttl()).map(g -> new IssuedGrant(g, token, false));
              });
            }))
        .recover(err -> Future.failedFuture(err instanceof WharfException ? err : ServerException.unavailable("postgres", err)))
        .andThen(ar -> {
          if (ar.succeeded()) {
            UploadGrant g = ar.result().grant();
            metrics.count("wharf_grants_total", "outcome", ar.result().replayed() ? "replayed" : "issued", 1);
            log.info("upload granted [tenant={}, device={}, req={}, file={}, size={}, replayed={}]",
                g.tenantId(), g.deviceId(), g.req(), g.id(), g.size(), ar.result().replayed());
          } else if (ar.cause() instanceof WharfException w) {
            metrics.count("wharf_grants_total", "outcome", w.code(), 1);
          }
        });
  }

  private IssuedGrant replay(UploadGrant previous, UploadGrant proposed) {
    if (previous.size() != proposed.size() || !Objects.equals(previous.sha256(), proposed.sha256())) {
      throw ClientException.conflict("req_reused", "req '" + previous.req() + "' was already used for another file");
    }
    if (previous.isExpired(OffsetDateTime.now())) {
      throw new ClientException(410, "grant_expired", "the grant for req '" + previous.req() + "' expired unused; ask again with a new req");
    }
    return new IssuedGrant(previous, token(previous.id()), true);
  }

  private UploadGrant validate(Principal device, GrantRequest r) {
    if (r.req() == null || !REQ.matcher(r.req()).matches()) {
      throw ClientException.badRequest("bad_request", "req must be 1-128 visible ASCII characters");
    }
    if (r.size() < 0) {
      throw ClientException.badRequest("bad_request", "size must be a whole number of bytes, zero or more");
    }
    if (r.size() > files.limits().maxFileBytes()) {
      throw new ClientException(413, "too_large", "the file is larger than the " + files.limits().maxFileBytes() + " byte limit");
    }
    String sha = r.sha256() == null ? null : r.sha256().toLowerCase(Locale.ROOT);
    String filename = files.precheck(new UploadCommand(device, r.filename(), r.contentType(), r.size(), sha, r.priority(), r.req()));
    return new UploadGrant(UUID.randomUUID(), device.tenantId(), device.deviceId(), r.req(), filename, r.size(), sha,
        r.contentType(), r.priority() == null ? Priority.NORMAL : r.priority(), State.OPEN, null);
  }

  /**
   * Streams one PUT body through a grant: the grant is claimed, the body must be exactly its size (and
   * hash to its checksum), and the file gets the grant's id. A failed PUT leaves the grant usable until it
   * expires; a committed one uses it up. 404 for an unknown token, 410 {@code grant_used} /
   * {@code grant_expired}, 409 {@code grant_in_use} while another PUT runs, 400 {@code size_mismatch}, 411 {@code length_required}.
   */
  public Future<Uploaded> redeem(String token, Long contentLength, String requestId, ReadStream<Buffer> body) {
    if (token == null || !token.startsWith(TOKEN_PREFIX) || token.length() > 64) {
      return Future.failedFuture(ClientException.notFound("grant"));
    }
    if (contentLength == null) {
      // With a declared length the HTTP layer guarantees the body is exactly that long.
      return Future.failedFuture(new ClientException(411, "length_required", "a PUT through an upload grant needs a Content-Length"));
    }
    Buffer tokenHash = hash(token);
    return GrantStore.claim(pool, tokenHash)
        .recover(err -> Future.failedFuture(Database.unavailableIfConnection(err)))
        .compose(claimed -> claimed.isPresent() ? Future.succeededFuture(claimed.get()) : refuse(tokenHash))
        .compose(grant -> {
          if (contentLength != grant.size()) {
            return release(grant).compose(v -> Future.failedFuture(ClientException.badRequest("size_mismatch",
                "the grant is for " + grant.size() + " bytes, the body has " + contentLength)));
          }
          Principal owner = new Principal(Principal.Kind.DEVICE, grant.tenantId(), grant.deviceId(), Set.of(), "grant:" + grant.id());
          UploadCommand cmd = new UploadCommand(owner, grant.filename(), grant.contentType(), grant.size(), grant.sha256(), grant.priority(), requestId);
          return files.upload(cmd, grant.id(), grant.size(), body)
              .compose(uploaded -> GrantStore.finish(pool, grant.id(), true)
                  .otherwise(err -> {
                    log.warn("grant not marked used; the sweeper will [file={}, cause={}]", grant.id(), err.toString());
                    return false;
                  })
                  .map(uploaded))
              .andThen(ar -> metrics.count("wharf_grants_total", "outcome", ar.succeeded() ? "used" : "upload_failed", 1))
              .recover(err -> release(grant).transform(v -> Future.failedFuture(err)));
        });
  }

  private Future<Void> release(UploadGrant grant) {
    return GrantStore.finish(pool, grant.id(), false).<Void>mapEmpty().otherwiseEmpty();
  }

  private Future<UploadGrant> refuse(Buffer tokenHash) {
    return GrantStore.byToken(pool, tokenHash).map(found -> {
      UploadGrant g = found.orElseThrow(() -> ClientException.notFound("grant"));
      throw switch (g.state()) {
        case USED -> new ClientException(410, "grant_used", "this upload grant was used already");
        case UPLOADING -> ClientException.conflict("grant_in_use", "an upload through this grant is in progress");
        default -> new ClientException(410, "grant_expired", "this upload grant expired");
      };
    });
  }

  /** The URL token of a grant: an HMAC of its id under the configured key. */
  String token(UUID grantId) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(config.tokenKey(), "HmacSHA256"));
      ByteBuffer id = ByteBuffer.allocate(16).putLong(grantId.getMostSignificantBits()).putLong(grantId.getLeastSignificantBits());
      return TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(id.array()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static Buffer hash(String token) {
    try {
      return Buffer.buffer(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One sweep: expires unused grants past their time, settles stale PUTs, purges old rows. */
  public Future<Integer> sweep(SqlClient sql) {
    return GrantStore.expireDue(sql, 1000)
        .compose(expired -> GrantStore.settleStale(sql, config.ttl().plus(Duration.ofHours(1)))
            .compose(settled -> GrantStore.purge(sql, config.retention(), 1000))
            .map(purged -> expired))
        .onSuccess(expired -> {
          if (expired > 0) {
            metrics.count("wharf_grants_total", "outcome", "expired", expired);
            log.info("unused upload grants expired [count={}]", expired);
          }
        });
  }
}
