package dev.wharf.ingest;

import dev.wharf.blob.BlobStore;
import dev.wharf.config.IngestConfig;
import dev.wharf.error.ClientException;
import dev.wharf.error.Outages;
import dev.wharf.files.FileRecord;
import dev.wharf.files.FileStatus;
import dev.wharf.files.FileStore;
import dev.wharf.ingest.IngestQueue.Lease;
import dev.wharf.ingest.validate.Validator;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims ingest jobs from the queue and verifies their files. Deploy it as a worker verticle: content
 * checks are CPU work and must not run on an event loop. Each instance runs up to
 * {@code concurrency} jobs; a lease is extended while its job runs, and a job whose lease is lost is
 * abandoned (its result would be fenced out anyway).
 *
 * <p>When a job ends, a {@link FileStatusEvent} is published on {@link #FILE_STATUS_ADDRESS}, after commit.
 */
public final class IngestWorker extends VerticleBase {

  /** Event bus address of file status changes at the end of ingest. */
  public static final String FILE_STATUS_ADDRESS = "wharf.files.status";

  private static final Logger log = LoggerFactory.getLogger(IngestWorker.class);
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final Pool pool;
  private final BlobStore blobs;
  private final IngestQueue queue;
  private final IngestConfig config;
  private final List<Validator> validators;
  private final WharfMetrics metrics;
  private final Map<String, Run> running = new HashMap<>();
  private long pollTimer = -1;
  private boolean filling;
  private boolean stopping;
  private Promise<Void> drained;

  public IngestWorker(Pool pool, BlobStore blobs, IngestQueue queue, IngestConfig config, List<Validator> validators, WharfMetrics metrics) {
    this.pool = pool;
    this.blobs = blobs;
    this.queue = queue;
    this.config = config;
    this.validators = List.copyOf(validators);
    this.metrics = metrics;
  }

  /** A file reached a final ingest status. */
  public record FileStatusEvent(String tenantId, String deviceId, UUID fileId, FileStatus status, String detail) {

    public JsonObject toJson() {
      return new JsonObject().put("tenant", tenantId).put("device", deviceId).put("file_id", fileId.toString())
          .put("status", status.wireName()).put("detail", detail);
    }
  }

  @Override
  public Future<?> start() {
    pollTimer = vertx.setPeriodic(0, config.pollInterval().toMillis(), id -> fill());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(pollTimer);
    if (running.isEmpty()) {
      return Future.succeededFuture();
    }
    drained = Promise.promise();
    long grace = vertx.setTimer(STOP_GRACE.toMillis(), id -> releaseAll());
    return drained.future().andThen(ar -> vertx.cancelTimer(grace));
  }

  /** Claims jobs until this instance is full or the queue is empty. Ticks never overlap. */
  private void fill() {
    if (filling || stopping || running.size() >= config.concurrency()) {
      return;
    }
    filling = true;
    queue.claim(config.leaseTime())
        .onComplete(ar -> {
          filling = false;
          if (ar.failed()) {
            log.warn("claim failed [cause={}]", ar.cause().toString());
            return;
          }
          ar.result().ifPresent(lease -> {
            if (stopping) {
              queue.retryLater(lease, Duration.ZERO)
                  .onFailure(err -> log.warn("claim not handed back at stop; its lease will expire [job={}]", lease.jobId()));
              return;
            }
            run(lease);
            fill();
          });
        });
  }

  private void run(Lease lease) {
    Run run = new Run(lease, System.nanoTime());
    running.put(lease.jobId(), run);
    run.heartbeat = vertx.setPeriodic(Math.max(50, config.leaseTime().toMillis() / 3), id -> {
      if (run.stalled()) {
        // No byte for stallTimeout: stop holding the job; the attempt fails and is retried with backoff.
        run.reading.tryFail(new java.util.concurrent.TimeoutException("no progress reading the object for "
            + config.stallTimeout().toSeconds() + " s (storage stalled)"));
        return;
      }
      queue.extend(lease, config.leaseTime())
          .onSuccess(held -> {
            if (!held && !run.lost) {
              run.lost = true;
              log.warn("lease lost, abandoning attempt [job={}]", lease.jobId());
            }
          });
    });
    process(run)
        .onFailure(err -> {
          if (Outages.isOutage(err)) {
            // PostgreSQL or Redis went away mid-attempt (not even the retry could be recorded): the lease runs out
            // and the job is claimed again once they are back. An outage, not a crash: no stack trace.
            log.warn("ingest attempt cut by an outage, the job runs again after its lease [job={}, cause={}]", lease.jobId(), err.toString());
          } else {
            log.error("ingest attempt crashed [job={}]", lease.jobId(), err);
          }
        })
        .onComplete(ar -> {
          vertx.cancelTimer(run.heartbeat);
          running.remove(lease.jobId());
          if (drained != null && running.isEmpty()) {
            drained.tryComplete();
          } else {
            fill();
          }
        });
  }

  private Future<Void> process(Run run) {
    UUID jobId = UUID.fromString(run.lease.jobId());
    return JobStore.startAttempt(pool, jobId).compose(job -> {
      if (job == null) {
        return queue.complete(run.lease).mapEmpty();
      }
      run.attempt = job.attempts();
      if (job.fileId() == null) {
        return end(run, job, null, JobStatus.CANCELLED, "the file was deleted", null);
      }
      if (job.attempts() > job.maxAttempts()) {
        return FileStore.getForWorker(pool, job.fileId())
            .compose(file -> end(run, job, file, JobStatus.DEAD, "attempts exhausted: " + job.lastError(), null));
      }
      return FileStore.getForWorker(pool, job.fileId())
          .compose(file -> FileStore.markProcessing(pool, file.id()).map(file))
          .compose(file -> inspect(run, job, file)
              .compose(verdict -> end(run, job, file, JobStatus.SUCCEEDED, verdict.detail(), verdict))
              .recover(err -> failed(run, job, file, err)));
    });
  }

  private Future<ContentInspection.Verdict> inspect(Run run, JobRecord job, FileRecord file) {
    ContentInspection inspection = new ContentInspection(file, validators);
    // The stall watch covers waiting for storage to answer as well as the read itself.
    run.progressed();
    Promise<ReadStream<io.vertx.core.buffer.Buffer>> opened = Promise.promise();
    blobs.open(file.objectKey(), null).onComplete(ar -> {
      if (ar.succeeded() && !opened.tryComplete(ar.result())) {
        ar.result().pause();
      } else if (ar.failed()) {
        opened.tryFail(ar.cause());
      }
    });
    run.reading.future().onFailure(opened::tryFail);
    return opened.future().compose(stream -> drain(stream, inspection, run, job, file.size()))
        .compose(v -> inspection.finish((offset, length) -> blobs.read(file.objectKey(), offset, length)));
  }

  private Future<Void> drain(ReadStream<io.vertx.core.buffer.Buffer> stream, ContentInspection inspection, Run run, JobRecord job, Long total) {
    Promise<Void> done = run.reading;
    run.progressed();
    done.future().onFailure(err -> stream.pause());
    long[] lastReport = {System.nanoTime()};
    stream.exceptionHandler(done::tryFail);
    stream.endHandler(v -> done.tryComplete());
    stream.handler(chunk -> {
      if (run.lost) {
        stream.pause();
        done.tryFail(new IllegalStateException("lease lost"));
        return;
      }
      run.progressed();
      inspection.accept(chunk);
      if (System.nanoTime() - lastReport[0] > 1_000_000_000L) {
        lastReport[0] = System.nanoTime();
        JsonObject progress = new JsonObject().put("bytes_checked", inspection.bytesSeen()).put("bytes_total", total);
        JobStore.progress(pool, job.id(), run.attempt, progress)
            .onFailure(err -> log.debug("progress not recorded [job={}, cause={}]", job.id(), err.toString()));
      }
    });
    stream.resume();
    return done.future();
  }

  /** A check could not run (storage or database trouble): retry with backoff, or give up when exhausted. */
  private Future<Void> failed(Run run, JobRecord job, FileRecord file, Throwable err) {
    if (err instanceof ClientException c && c.status() == 404) {
      return end(run, job, file, JobStatus.SUCCEEDED, "the stored object is missing", ContentInspection.Verdict.invalid("the stored object is missing", new JsonObject()));
    }
    String error = err.getMessage() == null ? err.toString() : err.getMessage();
    if (run.lost) {
      metrics.jobOutcome("fenced", run.elapsed());
      return Future.succeededFuture();
    }
    if (job.attempts() >= job.maxAttempts()) {
      return end(run, job, file, JobStatus.DEAD, "gave up after " + job.attempts() + " attempts: " + error, null);
    }
    Duration delay = config.backoff(job.attempts(), ThreadLocalRandom.current().nextDouble());
    return JobStore.requeue(pool, job.id(), run.attempt, error, delay).compose(requeued -> {
      if (!requeued) {
        metrics.jobOutcome("fenced", run.elapsed());
        return Future.succeededFuture();
      }
      metrics.jobOutcome("retried", run.elapsed());
      log.warn("ingest attempt failed, retrying [job={}, file={}, attempt={}, delay_ms={}, cause={}]",
          job.id(), file.id(), run.attempt, delay.toMillis(), error);
      return queue.retryLater(run.lease, delay).mapEmpty();
    });
  }

  /**
   * Commits the end of an attempt: the job's terminal status and, with it, the file's verdict. Fenced on
   * the attempt number; the status event goes out after commit.
   */
  private Future<Void> end(Run run, JobRecord job, FileRecord file, JobStatus status, String error, ContentInspection.Verdict verdict) {
    FileStatus fileStatus = verdict != null && verdict.valid() ? FileStatus.PROCESSED : FileStatus.FAILED;
    String detail = verdict != null ? verdict.detail() : error;
    JsonObject metadata = verdict != null ? verdict.metadata() : new JsonObject();
    JsonObject result = new JsonObject().put("file_status", fileStatus.wireName()).put("detail", detail);
    return pool.withTransaction(tx -> JobStore.finish(tx, job.id(), run.attempt, status, status == JobStatus.SUCCEEDED ? null : error, result)
            .compose(won -> !won || file == null || status == JobStatus.CANCELLED
                ? Future.succeededFuture(won)
                : FileStore.markVerified(tx, file.id(), fileStatus, detail, metadata).map(won)))
        .compose(won -> {
          String outcome = !won ? "fenced" : status == JobStatus.SUCCEEDED ? fileStatus.wireName() : status.wireName();
          metrics.jobOutcome(outcome, run.elapsed());
          if (won && file != null && status != JobStatus.CANCELLED) {
            log.info("ingest finished [tenant={}, device={}, file={}, job={}, attempt={}, file_status={}, detail={}]",
                file.tenantId(), file.deviceId(), file.id(), job.id(), run.attempt, fileStatus.wireName(), detail);
            vertx.eventBus().publish(FILE_STATUS_ADDRESS,
                new FileStatusEvent(file.tenantId(), file.deviceId(), file.id(), fileStatus, detail).toJson());
          } else if (!won) {
            log.info("ingest result discarded, a newer attempt owns the job [job={}, attempt={}]", job.id(), run.attempt);
          }
          return queue.complete(run.lease).mapEmpty();
        });
  }

  /** The grace period ran out: hand back the jobs still running so another worker re-runs them. */
  private void releaseAll() {
    List<Future<?>> released = new ArrayList<>();
    for (Run run : running.values()) {
      run.lost = true;
      UUID jobId = UUID.fromString(run.lease.jobId());
      released.add(JobStore.requeue(pool, jobId, run.attempt, "worker stopped", Duration.ZERO)
          .compose(v -> queue.retryLater(run.lease, Duration.ZERO)));
      log.info("ingest job released at shutdown [job={}, attempt={}]", jobId, run.attempt);
    }
    Future.join(released).onComplete(ar -> {
      if (drained != null) {
        drained.tryComplete();
      }
    });
  }

  private final class Run {
    final Lease lease;
    final long startedNanos;
    /** The read of the object; the heartbeat fails it when the read stalls. */
    final Promise<Void> reading = Promise.promise();
    long heartbeat;
    int attempt;
    boolean lost;
    private long lastProgressNanos;
    private boolean readingStarted;

    Run(Lease lease, long startedNanos) {
      this.lease = lease;
      this.startedNanos = startedNanos;
      this.lastProgressNanos = startedNanos;
    }

    void progressed() {
      readingStarted = true;
      lastProgressNanos = System.nanoTime();
    }

    /** Reading began and no byte came for the stall timeout. */
    boolean stalled() {
      return readingStarted && !reading.future().isComplete()
          && System.nanoTime() - lastProgressNanos > config.stallTimeout().toNanos();
    }

    Duration elapsed() {
      return Duration.ofNanos(System.nanoTime() - startedNanos);
    }
  }
}
