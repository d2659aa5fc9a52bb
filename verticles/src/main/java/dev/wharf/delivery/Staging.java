package dev.wharf.delivery;

import dev.wharf.auth.Principal;
import dev.wharf.blob.StoredBlob;
import dev.wharf.delivery.DeliveryStore.NewDelivery;
import dev.wharf.error.ClientException;
import dev.wharf.files.FileNames;
import dev.wharf.idempotency.IdempotencyStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streamed staging request: files are stored one after the other, then committed together or not at
 * all. Before an object is written its key goes into the object outbox as an intent that only the commit
 * withdraws, so an object of a staging that never commits (a failure, a crash) is deleted: at once by
 * {@link #abort}, or by the sweeper after {@link #INTENT_GRACE}.
 */
public final class Staging {

  /** How long an uncommitted staging's objects are left alone before the sweeper reclaims them. */
  public static final Duration INTENT_GRACE = Duration.ofHours(6);

  private static final Logger log = LoggerFactory.getLogger(Staging.class);

  private final DeliveryService service;
  private final Principal sender;
  private final String deviceId;
  private final String requestId;
  private final IdempotencyStore.Claim claim;
  private final List<NewDelivery> stored = new ArrayList<>();
  private final List<String> written = new ArrayList<>();
  private boolean over;

  Staging(DeliveryService service, Principal sender, String deviceId, String requestId, IdempotencyStore.Claim claim) {
    this.service = service;
    this.sender = sender;
    this.deviceId = deviceId;
    this.requestId = requestId;
    this.claim = claim;
  }

  /** Files stored so far. */
  public int size() {
    return stored.size();
  }

  /**
   * Streams one file (the body should be paused; it is resumed once the intent is recorded). 413
   * {@code too_many_files} past the file cap, 413 {@code payload_too_large} past the byte cap.
   */
  public Future<Void> add(String rawFilename, String contentType, ReadStream<Buffer> body) {
    if (over) {
      return Future.failedFuture(new IllegalStateException("staging already committed or aborted"));
    }
    if (stored.size() >= service.config().maxFiles()) {
      return Future.failedFuture(DeliveryService.tooManyFiles());
    }
    String filename;
    try {
      filename = FileNames.sanitize(rawFilename, service.uploads().maxFilenameBytes());
    } catch (ClientException e) {
      return Future.failedFuture(e);
    }
    UUID id = UUID.randomUUID();
    String key = "t/" + sender.tenantId() + "/deliveries/" + id;
    String type = normaliseType(contentType);
    return DeliveryStore.recordIntent(service.pool(), key, INTENT_GRACE)
        .compose(v -> {
          written.add(key);
          return service.blobs().put(key, body, service.config().maxFileBytes(), type);
        })
        .map((StoredBlob blob) -> {
          stored.add(new NewDelivery(id, sender.tenantId(), deviceId, sender.name(), null, key, filename, type, blob.size(), blob.sha256(),
              Duration.ZERO));
          return null;
        });
  }

  /**
   * Commits every stored file as a delivery with {@code ttlSeconds} (null: the default), in one transaction
   * that also records the answer when the staging runs under an {@code Idempotency-Key}.
   */
  public Future<List<Delivery>> commit(Long ttlSeconds) {
    if (stored.isEmpty()) {
      return Future.failedFuture(ClientException.badRequest("missing_file", "the multipart body has no file part"));
    }
    Duration ttl;
    try {
      ttl = service.config().ttlFor(ttlSeconds);
    } catch (ClientException e) {
      return Future.failedFuture(e);
    }
    over = true;
    List<NewDelivery> withTtl = stored.stream()
        .map(d -> new NewDelivery(d.id(), d.tenantId(), d.deviceId(), d.sender(), null, d.objectKey(), d.filename(), d.contentType(), d.size(),
            d.sha256(), ttl))
        .toList();
    return service.commit(withTtl, requestId, claim);
  }

  /**
   * Deletes every object this staging wrote and withdraws their intents. What fails here stays in the
   * outbox for the sweeper; the answer is always success.
   */
  public Future<Void> abort() {
    over = true;
    Future<Void> chain = Future.succeededFuture();
    for (String key : written) {
      chain = chain.compose(v -> service.blobs().delete(key)
          .compose(deleted -> DeliveryStore.forgetObject(service.pool(), key))
          .recover(err -> {
            log.warn("object of an aborted staging left to the sweeper [tenant={}, device={}, key={}, cause={}]",
                sender.tenantId(), deviceId, key, err.toString());
            return Future.succeededFuture();
          }));
    }
    return chain.onComplete(ar -> {
      if (!written.isEmpty()) {
        log.info("staging aborted [request={}, tenant={}, device={}, objects_removed={}]", requestId, sender.tenantId(), deviceId, written.size());
      }
    });
  }

  static String normaliseType(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      return null;
    }
    int semi = contentType.indexOf(';');
    String type = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    return type.length() > 127 || !type.contains("/") ? null : type;
  }
}
