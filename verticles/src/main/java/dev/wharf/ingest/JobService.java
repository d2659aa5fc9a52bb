package dev.wharf.ingest;

import dev.wharf.auth.Principal;
import dev.wharf.db.Page;
import dev.wharf.files.FileStore;
import dev.wharf.files.Priority;
import dev.wharf.files.VerificationJobs;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ingest jobs as their owners and the admin see them (read, list, cancel, retry a dead one, queue stats), and as
 * files see them: the verification job recorded with a file, scheduled, and cancelled with it.
 */
public final class JobService implements VerificationJobs {

  private static final Logger log = LoggerFactory.getLogger(JobService.class);

  private final Pool pool;
  private final IngestQueue queue;
  private final int maxAttempts;
  private final WharfMetrics metrics;

  /** {@code maxAttempts}: how many times a new job may run before it is dead. */
  public JobService(Pool pool, IngestQueue queue, int maxAttempts, WharfMetrics metrics) {
    this.pool = pool;
    this.queue = queue;
    this.maxAttempts = maxAttempts;
    this.metrics = metrics;
  }

  @Override
  public Future<Void> record(SqlClient tx, UUID jobId, UUID fileId, Principal owner, Priority priority) {
    return JobStore.insert(tx, jobId, fileId, owner, priority, maxAttempts);
  }

  @Override
  public Future<List<UUID>> cancelForFile(SqlClient tx, UUID fileId) {
    return JobStore.cancelForFile(tx, fileId);
  }

  @Override
  public Future<Void> schedule(UUID jobId, Priority priority) {
    return queue.enqueue(jobId.toString(), priority, System.currentTimeMillis());
  }

  @Override
  public Future<Void> unschedule(UUID jobId) {
    return queue.remove(jobId.toString());
  }

  public Future<JobRecord> get(Principal caller, UUID id) {
    return JobStore.get(pool, caller, id);
  }

  public Future<Page<JobRecord>> list(Principal caller, JobStatus status, String cursor, int limit) {
    return JobStore.list(pool, caller, status, cursor, limit);
  }

  /**
   * Cancels a queued or active job; a finished one is returned unchanged. A running worker's result is
   * then fenced out.
   */
  public Future<JobRecord> cancel(Principal caller, UUID id) {
    return JobStore.cancel(pool, caller, id).compose(job -> {
      if (job.status() != JobStatus.CANCELLED) {
        return Future.succeededFuture(job);
      }
      log.info("job cancelled [tenant={}, device={}, job={}]", job.tenantId(), job.deviceId(), job.id());
      return queue.remove(id.toString()).otherwiseEmpty().map(job);
    });
  }

  /** Admin: a dead job runs again with a fresh set of attempts. */
  public Future<JobRecord> retryDead(UUID id) {
    return pool.withTransaction(tx -> JobStore.retryDead(tx, id)
            .compose(job -> FileStore.markRequeued(tx, job.fileId()).map(job)))
        .compose(job -> {
      log.info("dead job retried [tenant={}, job={}]", job.tenantId(), job.id());
      return queue.enqueue(id.toString(), job.priority(), System.currentTimeMillis()).map(job);
    });
  }

  /**
   * Queue depth from Redis, the dead count and the oldest queued job's age from Postgres; also refreshes
   * the gauges.
   */
  public Future<JsonObject> stats() {
    return Future.all(queue.stats(), JobStore.countDead(pool), JobStore.oldestQueuedAgeSeconds(pool)).map(all -> {
      IngestQueue.QueueStats stats = all.resultAt(0);
      long dead = all.resultAt(1);
      double oldest = all.resultAt(2);
      metrics.queueDepth(stats.ready(), stats.delayed(), stats.leased(), dead);
      metrics.oldestQueuedAge(oldest);
      JsonObject ready = new JsonObject();
      for (Priority p : Priority.values()) {
        ready.put(p.wireName(), stats.ready()[p.band()]);
      }
      return new JsonObject().put("ready", ready).put("delayed", stats.delayed()).put("active", stats.leased()).put("dead", dead)
          .put("oldest_queued_age_seconds", Math.round(oldest));
    });
  }
}
