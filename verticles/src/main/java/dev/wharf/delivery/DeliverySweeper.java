package dev.wharf.delivery;

import dev.wharf.blob.BlobStore;
import dev.wharf.config.DeliveryConfig;
import dev.wharf.db.Database;
import dev.wharf.db.LeaderLock;
import dev.wharf.delivery.DeliveryStore.DueObject;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import dev.wharf.db.PeriodicChore;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires and sweeps deliveries, on one replica at a time (a Postgres advisory lock of its own).
 *
 * <p>A pass has two transactions. The first marks pending deliveries past their TTL {@code expired} and
 * deletes acked, rejected and expired ones past retention; the table's trigger records each deleted
 * row's own object in the {@code pending_object_deletes} outbox in that same transaction. The second,
 * after that commit, deletes due outbox objects from storage and then their outbox rows. So no row ever
 * points at a deleted object (rows go first), and no object is forgotten (its outbox row stays until the
 * object is gone; a failure repeats the delete next pass). Objects of deliveries made from existing files
 * belong to the file: the files table's trigger records a file's object when its row is deleted (and its
 * deliveries with it), so this pass deletes the objects of deleted files too. An outbox key some delivery
 * or file still points at is dropped without deleting the object.
 */
public final class DeliverySweeper extends PeriodicChore {

  private static final Logger log = LoggerFactory.getLogger(DeliverySweeper.class);
  private static final int BATCH = 500;
  private static final int OBJECT_BATCH = 100;

  private final Pool pool;
  private final BlobStore blobs;
  private final DeliveryConfig config;
  private final WharfMetrics metrics;

  public DeliverySweeper(Pool pool, BlobStore blobs, DeliveryConfig config, WharfMetrics metrics) {
    super("delivery sweep", config.sweepInterval(), config.sweepInterval());
    this.pool = pool;
    this.blobs = blobs;
    this.config = config;
    this.metrics = metrics;
  }

  /** What one pass did; null from {@link #runOnce} when another replica leads. */
  public record Sweep(int expired, int sweptAcked, int sweptRejected, int sweptExpired, int objectsDeleted) {

    boolean quiet() {
      return expired + sweptAcked + sweptRejected + sweptExpired + objectsDeleted == 0;
    }
  }

  /** One pass as leader: expire, delete rows, then delete their objects. */
  @Override
  public Future<Sweep> runOnce() {
    return Database.asLeader(pool, LeaderLock.DELIVERY_SWEEPER, this::sweepRows).compose(rows -> rows == null
        ? Future.succeededFuture(null)
        : Database.asLeader(pool, LeaderLock.DELIVERY_SWEEPER, this::deleteObjects).map(objects -> {
          Sweep sweep = new Sweep(rows.expired(), rows.sweptAcked(), rows.sweptRejected(), rows.sweptExpired(), objects == null ? 0 : objects);
          if (!sweep.quiet()) {
            log.info("deliveries swept [expired={}, removed_acked={}, removed_rejected={}, removed_expired={}, objects_deleted={}]",
                sweep.expired(), sweep.sweptAcked(), sweep.sweptRejected(), sweep.sweptExpired(), sweep.objectsDeleted());
          }
          return sweep;
        }));
  }

  private Future<Sweep> sweepRows(SqlConnection conn) {
    return DeliveryStore.expireDue(conn, BATCH).compose(expired -> {
      for (Delivery d : expired) {
        count("expired", d.size());
        log.info("delivery expired [tenant={}, device={}, delivery={}, size={}, was={}]", d.tenantId(), d.deviceId(), d.id(), d.size(),
            d.fetchedAt() == null ? "staged" : "fetched");
      }
      return DeliveryStore.deleteFinished(conn, config.retention(), BATCH).map(removed -> tally(expired.size(), removed));
    });
  }

  private Sweep tally(int expired, List<Delivery> removed) {
    int acked = 0;
    int rejected = 0;
    int gone = 0;
    for (Delivery d : removed) {
      switch (d.state()) {
        case ACKED -> acked++;
        case REJECTED -> rejected++;
        default -> gone++;
      }
      count("swept", d.size());
      metrics.count("wharf_deliveries_swept_total", "state", d.state().wireName(), 1);
      log.info("delivery swept [tenant={}, device={}, delivery={}, size={}, state={}]", d.tenantId(), d.deviceId(), d.id(), d.size(),
          d.state().wireName());
    }
    return new Sweep(expired, acked, rejected, gone, 0);
  }

  private Future<Integer> deleteObjects(SqlConnection conn) {
    return DeliveryStore.dueObjects(conn, OBJECT_BATCH).compose(due -> {
      Future<Integer> chain = Future.succeededFuture(0);
      for (DueObject object : due) {
        chain = chain.compose(n -> {
          if (object.referenced()) {
            log.warn("outbox names an object a delivery or file still points at; object kept [key={}]", object.key());
            return DeliveryStore.forgetObject(conn, object.key()).map(n);
          }
          return blobs.delete(object.key()).compose(v -> DeliveryStore.forgetObject(conn, object.key())).map(n + 1);
        });
      }
      return chain;
    });
  }

  private void count(String event, long bytes) {
    metrics.count("wharf_deliveries_total", "event", event, 1);
    if (bytes > 0) {
      metrics.count("wharf_delivery_bytes_total", "event", event, bytes);
    }
  }
}
