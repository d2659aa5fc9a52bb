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
import io.vertx.core.eventbus.MessageConsumer;
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
 * abandoned (its result would be fenced out anyway). Claims take up to {@code claimBatch} jobs per round
 * trip; completions and lease extensions of many jobs go out together ({@link LeaseBatches}); an idle
 * worker is woken by the queue's ready notices and polls only as a fallback.
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
  private LeaseBatches leaseCalls;
  private MessageConsumer<JsonObject> wakeups;
  private long pollTimer = -1;
  private long dueTimer = -1;
  private boolean filling;
  /** A wake-up came while a claim was in flight: claim again when it answers, it may have missed the job. */
  private boolean fillAgain;
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

  /**
   * Listens for the queue's ready notices (a job was enqueued here or, through the notice relay, on another
   * replica) and claims at once when one comes; polls every {@code pollInterval} as the fallback for a lost
   * notice. Started once listening and once the first claim answered (a failed claim does not fail the start:
   * the poll tries again), so a job enqueued after the start is found by a notice or the poll.
   */
  @Override
  public Future<?> start() {
    leaseCalls = new LeaseBatches(queue, config.leaseTime());
    wakeups = vertx.eventBus().localConsumer(queue.readyAddress(), msg -> fill());
    long poll = config.pollInterval().toMillis();
    pollTimer = vertx.setPeriodic(poll, poll, id -> fill());
    return wakeups.completion().compose(v -> fill());
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(pollTimer);
    vertx.cancelTimer(dueTimer);
    wakeups.unregister();
    if (running.isEmpty()) {
      return Future.succeededFuture();
    }
    drained = Promise.promise();
    long grace = vertx.setTimer(STOP_GRACE.toMillis(), id -> releaseAll());
    return drained.future().andThen(ar -> vertx.cancelTimer(grace));
  }

  /**
   * Claims jobs until this instance is full or the queue is empty, up to {@code claimBatch} per round trip.
   * Claims never overlap; a wake-up during one makes another follow it. When the queue had fewer jobs than
   * asked for, a timer is set for the earliest delayed job if it is due before the next poll.
   */
  private Future<Void> fill() {
    int free = config.concurrency() - running.size();
    if (stopping || free <= 0) {
      return Future.succeededFuture();
    }
    if (filling) {
      fillAgain = true;
      return Future.succeededFuture();
    }
    filling = true;
    fillAgain = false;
    int wanted = Math.min(free, config.claimBatch());
    return queue.claim(config.leaseTime(), wanted)
        .andThen(ar -> {
          filling = false;
          if (ar.failed()) {
            log.warn("claim failed [cause={}]", ar.cause().toString());
            return;
          }
          IngestQueue.Claim claim = ar.result();
          if (stopping) {
            for (Lease lease : claim.leases()) {
              queue.retryLater(lease, Duration.ZERO)
                  .onFailure(err -> log.warn("claim not handed back at stop; its lease will expire [job={}]", lease.jobId()));
            }
            return;
          }
          claim.leases().forEach(this::run);
          if (claim.leases().size() < wanted) {
            wakeWhenDue(claim.nextDueMillis());
          }
          if (claim.leases().size() == wanted || fillAgain) {
            fill();
          }
        })
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }

  /** Sets a timer for the earliest delayed job when it is due before the next fallback poll. */
  private void wakeWhenDue(long dueInMillis) {
    if (dueInMillis < 0 || dueInMillis >= config.pollInterval().toMillis()) {
      return;
    }
    vertx.cancelTimer(dueTimer);
    dueTimer = vertx.setTimer(Math.max(1, dueInMillis), id -> fill());
  }

  private void run(Lease lease) {
    Run run = new Run(lease, System.nanoTime());
    running.put(lease.jobId(), run);
    run.heartbeat = vertx.setPeriodic(Math.max(50, config.leaseTime().toMillis() / 3), id -> {
      if (run.stalled()) {
        // No byte for stallTimeout: stop holding the job; the attempt fails and is retried with backoff.
        run.stallFailure = new java.util.concurrent.TimeoutException("no progress reading the object for "
            + config.stallTimeout().toSeconds() + " s (storage stalled)");
        run.reading.tryFail(run.stallFailure);
        return;
      }
      leaseCalls.extend(lease)
          .onSuccess(held -> {
            if (!held && !run.lost) {
              run.lost = true;
              log.warn("lease lost, abandoning attempt [job={}]", lease.jobId());
            }
          })
          // Redis unreachable: the attempt goes on; should the lease run out meanwhile, the attempt number
          // in PostgreSQL still fences this worker's result against the one that takes the job over.
          .onFailure(err -> log.debug("lease not extended [job={}, cause={}]", lease.jobId(), err.toString()));
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
    // The file row is read beside the statement that starts the attempt, on another connection: one round trip
    // of waiting instead of two. Unused (and its failure ignored) when the job turns out not to need it.
    Future<FileRecord> fileRead = FileStore.getForJob(pool, jobId);
    return JobStore.startAttemptMarkingFile(pool, jobId).compose(job -> {
      if (job == null) {
        return leaseCalls.complete(run.lease).mapEmpty();
      }
      run.attempt = job.attempts();
      if (job.fileId() == null) {
        return end(run, job, null, JobStatus.CANCELLED, "the file was deleted", null);
      }
      Future<FileRecord> file = fileRead.transform(ar -> ar.succeeded() && ar.result().id().equals(job.fileId())
          ? Future.succeededFuture(ar.result())
          : FileStore.getForWorker(pool, job.fileId()));
      if (job.attempts() > job.maxAttempts()) {
        return file.compose(f -> end(run, job, f, JobStatus.DEAD, "attempts exhausted: " + job.lastError(), null));
      }
      // startAttemptMarkingFile marked the file processing already.
      return file.compose(f -> inspect(run, job, f)
          .compose(verdict -> end(run, job, f, JobStatus.SUCCEEDED, verdict.detail(), verdict))
          .recover(err -> failed(run, job, f, err)));
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
    // An attempt cut by an outage (storage or database unavailable, or a read that stalled) judged nothing about
    // the file: it does not use up the job's attempts, or a storage outage of a few backoffs would turn every file
    // being verified into "failed". It still backs off as attempts do, and the job waits for the dependency.
    boolean outage = Outages.isOutage(err) || run.stallFailure != null
        || err instanceof dev.wharf.error.WharfException w && Outages.isRetryable(w);
    if (!outage && job.attempts() >= job.maxAttempts()) {
      return end(run, job, file, JobStatus.DEAD, "gave up after " + job.attempts() + " attempts: " + error, null);
    }
    Duration delay = config.backoff(job.attempts(), ThreadLocalRandom.current().nextDouble());
    return JobStore.requeue(pool, job.id(), run.attempt, error, delay, outage).compose(requeued -> {
      if (!requeued) {
        metrics.jobOutcome("fenced", run.elapsed());
        return Future.succeededFuture();
      }
      metrics.jobOutcome("retried", run.elapsed());
      log.warn("ingest attempt failed, retrying [job={}, file={}, attempt={}, delay_ms={}, outage={}, cause={}]",
          job.id(), file.id(), run.attempt, delay.toMillis(), outage, error);
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
    boolean verdictOnFile = file != null && status != JobStatus.CANCELLED;
    return JobStore.finishWithFile(pool, job.id(), run.attempt, status, status == JobStatus.SUCCEEDED ? null : error, result,
            verdictOnFile ? file.id() : null, fileStatus.wireName(), detail, metadata)
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
          // The slot is free once the outcome is committed: the lease's release goes out batched while the
          // next claim runs. Should it not arrive, the lease expires and the job's next claim finds it ended.
          leaseCalls.complete(run.lease).onFailure(err -> log.warn("lease not released; it will expire [job={}, cause={}]",
              job.id(), err.toString()));
          return Future.<Void>succeededFuture();
        });
  }

  /** The grace period ran out: hand back the jobs still running so another worker re-runs them. */
  private void releaseAll() {
    List<Future<?>> released = new ArrayList<>();
    for (Run run : running.values()) {
      run.lost = true;
      UUID jobId = UUID.fromString(run.lease.jobId());
      released.add(JobStore.requeue(pool, jobId, run.attempt, "worker stopped", Duration.ZERO, true)
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
    /** Set when the heartbeat failed the read for want of progress: storage stalled, an outage. */
    Throwable stallFailure;
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
