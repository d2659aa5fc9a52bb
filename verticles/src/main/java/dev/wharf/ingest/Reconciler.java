package dev.wharf.ingest;

import dev.wharf.config.IngestConfig;
import dev.wharf.db.Database;
import dev.wharf.db.LeaderLock;
import dev.wharf.ingest.IngestQueue.QueuedJob;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import dev.wharf.db.PeriodicChore;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Redis's schedule in line with Postgres's truth, at start and then periodically, on one replica at
 * a time (a Postgres advisory lock): every queued or active job missing from Redis is enqueued again, so
 * a flushed or restarted Redis loses no job. (Uploads abandoned mid-stream are the upload sweeper's.)
 */
public final class Reconciler extends PeriodicChore {

  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final int BATCH = 500;

  private final Pool pool;
  private final java.time.Duration retention;
  private final IngestQueue queue;
  private final WharfMetrics metrics;

  public Reconciler(Pool pool, IngestQueue queue, IngestConfig config, WharfMetrics metrics) {
    super("reconcile pass", java.time.Duration.ZERO, config.reconcileInterval());
    this.retention = config.retention();
    this.pool = pool;
    this.queue = queue;
    this.metrics = metrics;
  }

  /** One full pass as leader; answers how many jobs were re-enqueued, or null when not the leader. */
  @Override
  public Future<Integer> runOnce() {
    return Database.asLeader(pool, LeaderLock.RECONCILER, conn -> reenqueue(conn, null, 0)
            .compose(added -> JobStore.purgeFinished(conn, retention, 1000).map(purged -> {
              if (purged > 0) {
                log.info("finished jobs past retention deleted [count={}]", purged);
              }
              return added;
            })))
        .onSuccess(added -> {
          if (added != null && added > 0) {
            metrics.count("wharf_reconciled_jobs_total", "source", "postgres", added);
            log.info("jobs missing from redis re-enqueued [count={}]", added);
          }
        });
  }

  private Future<Integer> reenqueue(SqlConnection conn, UUID after, int addedSoFar) {
    return JobStore.pending(conn, after, BATCH).compose(jobs -> {
      if (jobs.isEmpty()) {
        return Future.succeededFuture(addedSoFar);
      }
      List<QueuedJob> batch = jobs.stream()
          .map(job -> new QueuedJob(job.id().toString(), job.priority(), job.createdAt().toInstant().toEpochMilli()))
          .toList();
      UUID last = jobs.get(jobs.size() - 1).id();
      return queue.reconcile(batch).compose(added -> jobs.size() < BATCH
          ? Future.succeededFuture(addedSoFar + added)
          : reenqueue(conn, last, addedSoFar + added));
    });
  }
}
