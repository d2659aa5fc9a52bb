package dev.wharf.delivery;

import dev.wharf.auth.Principal;
import dev.wharf.blob.BlobStore;
import dev.wharf.config.DeliveryConfig;
import dev.wharf.config.UploadConfig;
import dev.wharf.db.Cursor;
import dev.wharf.db.Database;
import dev.wharf.db.Page;
import dev.wharf.delivery.DeliveryStore.NewDelivery;
import dev.wharf.delivery.DeliveryStore.SourceFile;
import dev.wharf.error.ClientException;
import dev.wharf.error.WharfException;
import dev.wharf.events.NoticeCache;
import dev.wharf.events.NoticeRelay;
import dev.wharf.idempotency.IdempotencyStore;
import dev.wharf.metrics.WharfMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Poll-mode deliveries: staging (streamed files or existing processed files, all of a request in one
 * transaction), the device's inbox, fetch, ack and reject, and the sender's view. Every state change is
 * logged and counted; an inbox notice is published on {@link #NOTICE_ADDRESS} only after commit.
 *
 * <p>An inbox PostgreSQL found empty is remembered for {@link DeliveryConfig#quietTtl}. A delivery only enters an
 * inbox by a staging, and every staging forgets its device's memory before it publishes its notice; other replicas
 * forget it when the relay brings the notice, and the memory stands down while the relay cannot hear them. A lost
 * notice makes a delivery late by at most the TTL: only a poll's first look may answer from memory.
 */
public final class DeliveryService {

  /** Local event bus address of inbox notices: {@code {"tenant","device","id","filename","size","sha256","expires_at"}}. */
  public static final String NOTICE_ADDRESS = "wharf.inbox.notice";

  private static final Logger log = LoggerFactory.getLogger(DeliveryService.class);
  /** Devices whose empty inbox one process remembers at most (a few MB); past it the memory is cleared. */
  private static final int QUIET_ENTRIES = 100_000;

  private final Vertx vertx;
  private final Pool pool;
  private final BlobStore blobs;
  private final DeliveryConfig config;
  private final UploadConfig uploads;
  private final WharfMetrics metrics;
  private final AtomicInteger pollsHeld = new AtomicInteger();
  /** Inboxes PostgreSQL found empty (the value is always true), by tenant and device: see {@link #inboxIfNotQuiet}. */
  private final NoticeCache<String, Boolean> quiet;
  private final AckBatches acks;
  private final LongAdder inboxReads = new LongAdder();
  private final LongAdder inboxQuietHits = new LongAdder();

  public DeliveryService(Vertx vertx, Pool pool, BlobStore blobs, DeliveryConfig config, UploadConfig uploads, WharfMetrics metrics) {
    this.vertx = vertx;
    this.pool = pool;
    this.blobs = blobs;
    this.config = config;
    this.uploads = uploads;
    this.metrics = metrics;
    this.quiet = new NoticeCache<>(config.quietTtl(), QUIET_ENTRIES, false);
    this.acks = new AckBatches(pool);
    Gauge.builder("wharf_inbox_polls_held", pollsHeld, AtomicInteger::get)
        .description("Inbox long-polls this process holds open").register(metrics.registry());
    FunctionCounter.builder("wharf_inbox_checks_total", inboxQuietHits, LongAdder::sum).tag("source", "quiet")
        .description("Looks into a device's inbox, by where the answer came from").register(metrics.registry());
    FunctionCounter.builder("wharf_inbox_checks_total", inboxReads, LongAdder::sum).tag("source", "postgres")
        .description("Looks into a device's inbox, by where the answer came from").register(metrics.registry());
    FunctionCounter.builder("wharf_inbox_ack_statements_total", acks, AckBatches::statements)
        .description("PostgreSQL statements sent for inbox acks (acks of one event-loop turn share one)").register(metrics.registry());
  }

  public DeliveryConfig config() {
    return config;
  }

  /**
   * Forgets empty inboxes on inbox notices relayed from other replicas, and stops remembering them while the
   * notice relay cannot hear those ({@link NoticeRelay#STATE_ADDRESS}); answers once the consumers are registered.
   * Deploy the notice relay with {@link #NOTICE_ADDRESS} among its addresses. Without this, nothing is remembered.
   */
  public Future<Void> listen() {
    if (!quiet.enabled()) {
      return Future.succeededFuture();
    }
    Future<Void> notices = vertx.eventBus().<JsonObject>localConsumer(NOTICE_ADDRESS, msg -> {
      JsonObject notice = msg.body();
      if (notice != null && msg.headers().contains(NoticeRelay.RELAYED_HEADER)) {
        quiet.forget(inboxKey(notice.getString("tenant"), notice.getString("device")));
      }
    }).completion();
    Future<Void> relay = quiet.followRelay(vertx, log,
        "inbox notices from other replicas may be missed: every poll reads PostgreSQL until the relay listens again",
        "empty inboxes remembered: the relay listens [quiet_ttl=" + config.quietTtl() + "]");
    return Future.all(notices, relay).mapEmpty();
  }

  /** Statements sent for acks so far; below the number of acks when acks of one turn were batched. */
  public long ackStatements() {
    return acks.statements();
  }

  /** Looks into inboxes that read PostgreSQL so far. */
  public long inboxReads() {
    return inboxReads.sum();
  }

  /** Looks into inboxes answered "empty" from memory so far. */
  public long inboxQuietHits() {
    return inboxQuietHits.sum();
  }

  /** One device's inbox, as the memory of empty inboxes and the held polls key it. */
  static String inboxKey(String tenantId, String deviceId) {
    return tenantId + '\u0000' + deviceId;
  }

  /** Long-polls held by this process, for load shedding across its API verticles. */
  public AtomicInteger pollsHeld() {
    return pollsHeld;
  }

  /**
   * Starts a streamed staging for {@code deviceId}: 403 without the {@code deliver} scope, 404 when the
   * device is not the sender's tenant's. Add the files to the answer, then commit or abort it.
   */
  public Future<Staging> beginStaging(Principal sender, String deviceId, String requestId) {
    return beginStaging(sender, deviceId, requestId, null);
  }

  /**
   * As {@link #beginStaging(Principal, String, String)}, under an {@code Idempotency-Key}: the commit records
   * the 201 answer ({@link Delivery#stagedAnswer}) for {@code claim} in the transaction that inserts the
   * deliveries, so no crash can leave a committed staging whose key a retry would stage again.
   */
  public Future<Staging> beginStaging(Principal sender, String deviceId, String requestId, IdempotencyStore.Claim claim) {
    sender.requireScope(Principal.SCOPE_DELIVER);
    return requireDevice(sender, deviceId)
        .map(v -> new Staging(this, sender, deviceId, requestId, claim));
  }

  /**
   * Stages existing files, which must be the tenant's and {@code processed} (409 {@code file_not_ready},
   * 422 {@code file_failed}, 404 for an id that is absent or another tenant's). No bytes are copied: each
   * delivery points at its file's object.
   */
  public Future<List<Delivery>> stageFiles(Principal sender, String deviceId, List<UUID> fileIds, Long ttlSeconds, String requestId) {
    return stageFiles(sender, deviceId, fileIds, ttlSeconds, requestId, null);
  }

  /**
   * As {@link #stageFiles(Principal, String, List, Long, String)}, under an {@code Idempotency-Key}: the 201
   * answer is recorded for {@code claim} in the staging's transaction.
   */
  public Future<List<Delivery>> stageFiles(Principal sender, String deviceId, List<UUID> fileIds, Long ttlSeconds, String requestId,
      IdempotencyStore.Claim claim) {
    sender.requireScope(Principal.SCOPE_DELIVER);
    if (fileIds.isEmpty()) {
      throw ClientException.badRequest("missing_file", "file_ids must name at least one file");
    }
    if (fileIds.size() > config.maxFiles()) {
      throw tooManyFiles();
    }
    if (new HashSet<>(fileIds).size() != fileIds.size()) {
      throw ClientException.badRequest("duplicate_file_id", "file_ids names a file twice");
    }
    Duration ttl = config.ttlFor(ttlSeconds);
    return pool.withTransaction(tx -> DeliveryStore.deviceExists(tx, sender.tenantId(), deviceId)
            .compose(exists -> {
              if (!exists) {
                throw ClientException.notFound("device");
              }
              return DeliveryStore.lockFiles(tx, sender.tenantId(), fileIds);
            })
            .compose(found -> {
              Map<UUID, SourceFile> byId = new HashMap<>();
              found.forEach(f -> byId.put(f.id(), f));
              List<NewDelivery> staged = new ArrayList<>();
              for (UUID id : fileIds) {
                SourceFile file = byId.get(id);
                if (file == null) {
                  throw ClientException.notFound("file " + id);
                }
                switch (file.status()) {
                  case PROCESSED -> { }
                  case FAILED -> throw ClientException.unprocessable("file_failed", "file " + id + " failed verification: "
                      + (file.statusDetail() == null ? "no detail" : file.statusDetail()));
                  default -> throw ClientException.conflict("file_not_ready", "file " + id + " is " + file.status().wireName()
                      + ", not yet processed");
                }
                staged.add(new NewDelivery(UUID.randomUUID(), sender.tenantId(), deviceId, sender.name(), id, file.objectKey(),
                    file.filename(), file.contentType(), file.size(), file.sha256(), ttl));
              }
              return insert(tx, staged, claim);
            }))
        .recover(DeliveryService::clarify)
        .onSuccess(staged -> announce(staged, requestId));
  }

  /** Commits what a {@link Staging} stored; called by it. */
  Future<List<Delivery>> commit(List<NewDelivery> staged, String requestId, IdempotencyStore.Claim claim) {
    List<String> keys = staged.stream().map(NewDelivery::objectKey).toList();
    return pool.withTransaction(tx -> DeliveryStore.withdrawIntents(tx, keys)
            .compose(withdrawn -> withdrawn == keys.size()
                ? insert(tx, staged, claim)
                : Future.failedFuture(dev.wharf.error.ServerException.unavailable("storage",
                    new IllegalStateException("staged objects were reclaimed before the commit")))))
        .recover(DeliveryService::clarify)
        .onSuccess(done -> announce(done, requestId));
  }

  /** Inserts the deliveries and, under a key, records the answer that describes them: one transaction, both or neither. */
  private static Future<List<Delivery>> insert(SqlConnection tx, List<NewDelivery> staged, IdempotencyStore.Claim claim) {
    return DeliveryStore.insert(tx, staged).compose(done -> claim == null ? Future.succeededFuture(done)
        : IdempotencyStore.completeIn(tx, claim, 201, Delivery.stagedAnswer(done)).map(done));
  }

  /** After commit: log, count and publish a notice for each staged delivery (its device's inbox is no longer known empty first). */
  private void announce(List<Delivery> staged, String requestId) {
    for (Delivery d : staged) {
      quiet.forget(inboxKey(d.tenantId(), d.deviceId()));
      count("staged", d.size());
      log.info("delivery staged [request={}, tenant={}, device={}, delivery={}, size={}, sender={}, source={}, expires_at={}]", requestId,
          d.tenantId(), d.deviceId(), d.id(), d.size(), d.sender(), d.fileId() == null ? "upload" : "file:" + d.fileId(), d.expiresAt());
      vertx.eventBus().publish(NOTICE_ADDRESS, d.toNotice());
    }
  }

  /**
   * The device's pending deliveries after {@code cursor}, oldest first, at most {@code limit}, read from PostgreSQL.
   * A first page found empty is remembered for {@link DeliveryConfig#quietTtl} (see {@link #inboxIfNotQuiet}).
   */
  public Future<Page<Delivery>> inbox(Principal device, String cursor, int limit) {
    device.requireDevice();
    Cursor after = Cursor.decode(cursor);
    String tenantId = device.tenantId();
    String deviceId = device.deviceId();
    long readUnder = quiet.generation();
    inboxReads.increment();
    return DeliveryStore.pending(pool, tenantId, deviceId, after, Math.min(limit, config.inboxLimit())).onSuccess(page -> {
      if (after != null) {
        return;
      }
      if (page.items().isEmpty()) {
        quiet.put(inboxKey(tenantId, deviceId), Boolean.TRUE, readUnder);
      } else {
        quiet.forget(inboxKey(tenantId, deviceId));
      }
    });
  }

  /**
   * As {@link #inbox}, but an empty first page is answered without PostgreSQL when the device's inbox was read
   * empty less than {@link DeliveryConfig#quietTtl} ago and no staging for it was heard of since. For the first
   * look of a poll; a look prompted by a notice, or the last one of a held poll, reads PostgreSQL.
   */
  public Future<Page<Delivery>> inboxIfNotQuiet(Principal device, String cursor, int limit) {
    device.requireDevice();
    if (cursor == null && quiet.get(inboxKey(device.tenantId(), device.deviceId())) != null) {
      inboxQuietHits.increment();
      return Future.succeededFuture(new Page<>(List.of(), null));
    }
    return inbox(device, cursor, limit);
  }

  /** A fetch of the content: stamps fetched_at the first time ({@code staged → fetched}). 404 unless live for the device. */
  public Future<Delivery> fetch(Principal device, UUID id) {
    device.requireDevice();
    return DeliveryStore.markFetched(pool, device.tenantId(), device.deviceId(), id).map(found -> {
      var t = found.orElseThrow(() -> ClientException.notFound("delivery"));
      Delivery d = t.delivery();
      if (t.previous() == DeliveryState.STAGED) {
        count("fetched", d.size());
        log.info("delivery fetched [tenant={}, device={}, delivery={}, size={}]", d.tenantId(), d.deviceId(), d.id(), d.size());
      }
      return d;
    });
  }

  /**
   * Acks; a second ack is success and keeps the first timestamp. 409 {@code delivery_rejected} after a reject. Acks that
   * reach an event loop in the same turn share one statement ({@link AckBatches}).
   */
  public Future<Delivery> ack(Principal device, UUID id) {
    device.requireDevice();
    return acks.ack(device.tenantId(), device.deviceId(), id).compose(found -> {
      DeliveryStore.Settled settled = found.orElseThrow(() -> ClientException.notFound("delivery"));
      Delivery d = settled.delivery();
      if (settled.changed()) {
        count("acked", d.size());
        log.info("delivery acked [tenant={}, device={}, delivery={}, size={}]", d.tenantId(), d.deviceId(), d.id(), d.size());
        return Future.succeededFuture(d);
      }
      if (d.state() == DeliveryState.ACKED) {
        return Future.succeededFuture(d);
      }
      // Rejected, expired, or changed under this ack: the read after decides, as for a reject.
      return settled(device, id, DeliveryState.ACKED);
    });
  }

  /** Rejects with a reason (at most {@value DeliveryConfig#MAX_REASON_CHARS} characters); a second reject is success. */
  public Future<Delivery> reject(Principal device, UUID id, String reason) {
    device.requireDevice();
    String clean = reason == null ? null : reason.strip();
    if (clean != null && clean.codePointCount(0, clean.length()) > DeliveryConfig.MAX_REASON_CHARS) {
      throw ClientException.badRequest("reason_too_long", "reason must be at most " + DeliveryConfig.MAX_REASON_CHARS + " characters");
    }
    String stored = clean == null || clean.isEmpty() ? null : clean.replaceAll("\\p{Cntrl}", " ");
    return DeliveryStore.reject(pool, device.tenantId(), device.deviceId(), id, stored).compose(rejected -> {
      if (rejected.isPresent()) {
        Delivery d = rejected.get();
        count("rejected", d.size());
        log.info("delivery rejected [tenant={}, device={}, delivery={}, size={}, reason={}]", d.tenantId(), d.deviceId(), d.id(), d.size(), stored);
        return Future.succeededFuture(d);
      }
      return settled(device, id, DeliveryState.REJECTED);
    });
  }

  /** The answer to an ack or reject that changed nothing: a repeat succeeds, the opposite is 409, the rest 404. */
  private Future<Delivery> settled(Principal device, UUID id, DeliveryState wanted) {
    return DeliveryStore.getForDevice(pool, device.tenantId(), device.deviceId(), id).map(found -> {
      Delivery d = found.orElseThrow(() -> ClientException.notFound("delivery"));
      if (d.state() == wanted) {
        return d;
      }
      if (d.state() == DeliveryState.ACKED || d.state() == DeliveryState.REJECTED) {
        throw ClientException.conflict("delivery_" + d.state().wireName(), "the delivery was " + d.state().wireName() + " already");
      }
      throw ClientException.notFound("delivery");
    });
  }

  /** Where a delivery stands, for a sender of the tenant (scope {@code deliver} or {@code read}). */
  public Future<Delivery> get(Principal sender, UUID id) {
    requireSenderView(sender);
    return DeliveryStore.getForSender(pool, sender.tenantId(), id);
  }

  public Future<Page<Delivery>> list(Principal sender, String deviceId, DeliveryState state, String cursor, int limit) {
    requireSenderView(sender);
    return DeliveryStore.list(pool, sender.tenantId(), deviceId, state, Cursor.decode(cursor), limit);
  }

  private static void requireSenderView(Principal p) {
    if (p.kind() != Principal.Kind.SENDER || !(p.scopes().contains(Principal.SCOPE_DELIVER) || p.scopes().contains(Principal.SCOPE_READ))) {
      throw ClientException.forbidden("this call needs a token with the 'deliver' or 'read' scope");
    }
  }

  private Future<Void> requireDevice(Principal sender, String deviceId) {
    return DeliveryStore.deviceExists(pool, sender.tenantId(), deviceId)
        .recover(err -> Future.failedFuture(Database.unavailableIfConnection(err)))
        .map(exists -> {
          if (!exists) {
            throw ClientException.notFound("device");
          }
          return null;
        });
  }

  /** A device deleted under a staging is the same 404 as an absent one; connection trouble is 503. */
  private static <T> Future<T> clarify(Throwable err) {
    if (Database.violates(err, "23503")) {
      return Future.failedFuture(ClientException.notFound("device"));
    }
    return Future.failedFuture(err instanceof WharfException ? err : Database.unavailableIfConnection(err));
  }

  static ClientException tooManyFiles() {
    return new ClientException(413, "too_many_files", "a staging request carries at most the configured number of files");
  }

  void count(String event, long bytes) {
    metrics.count("wharf_deliveries_total", "event", event, 1);
    if (bytes > 0) {
      metrics.count("wharf_delivery_bytes_total", "event", event, bytes);
    }
  }

  BlobStore blobs() {
    return blobs;
  }

  Pool pool() {
    return pool;
  }

  UploadConfig uploads() {
    return uploads;
  }
}
