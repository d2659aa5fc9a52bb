package dev.wharf.config;

import java.time.Duration;

/**
 * Ingest worker settings.
 *
 * @param workers worker verticle instances
 * @param concurrency jobs each worker runs at once
 * @param leaseTime how long a claim holds before another worker may take the job back; extended while
 *     the job runs
 * @param maxAttempts attempts before a job is {@code dead}
 * @param backoffBase first retry delay; doubles per attempt, with jitter
 * @param backoffMax cap of the retry delay
 * @param pollInterval how often an idle worker asks for work without being told: the fallback for a lost
 *     ready notice (a worker is woken by a notice when a job is enqueued, and by a timer when a retry is due)
 * @param reconcileInterval how often the leader re-enqueues jobs missing from Redis
 * @param staleUploadAfter an upload still {@code uploading} after this is abandoned and cleaned up
 * @param stallTimeout an attempt that reads no byte for this long stops renewing its lease and is retried
 *     (a stalled storage read must not hold a job forever)
 * @param retention finished jobs (succeeded, dead, cancelled) are deleted this long after they ended
 * @param claimBatch the most jobs a worker claims in one round trip (never more than its free slots)
 */
public record IngestConfig(
    int workers,
    int concurrency,
    Duration leaseTime,
    int maxAttempts,
    Duration backoffBase,
    Duration backoffMax,
    Duration pollInterval,
    Duration reconcileInterval,
    Duration staleUploadAfter,
    Duration stallTimeout,
    Duration retention,
    int claimBatch) {

  /** Jobs claimed per round trip unless configured. */
  public static final int DEFAULT_CLAIM_BATCH = 16;

  /** The settings with the default claim batch. */
  public IngestConfig(int workers, int concurrency, Duration leaseTime, int maxAttempts, Duration backoffBase, Duration backoffMax,
      Duration pollInterval, Duration reconcileInterval, Duration staleUploadAfter, Duration stallTimeout, Duration retention) {
    this(workers, concurrency, leaseTime, maxAttempts, backoffBase, backoffMax, pollInterval, reconcileInterval, staleUploadAfter,
        stallTimeout, retention, DEFAULT_CLAIM_BATCH);
  }

  public IngestConfig {
    if (claimBatch < 1 || claimBatch > 500) {
      throw new IllegalArgumentException("ingest.claim-batch must be between 1 and 500");
    }
    if (stallTimeout.toMillis() < 100) {
      throw new IllegalArgumentException("ingest.stall-timeout must be at least 100 ms");
    }
    if (retention.toHours() < 1) {
      throw new IllegalArgumentException("ingest.retention must be at least 1h");
    }
    if (workers < 0) {
      throw new IllegalArgumentException("ingest.workers must not be negative");
    }
    if (concurrency < 1) {
      throw new IllegalArgumentException("ingest.concurrency must be at least 1");
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("ingest.max-attempts must be at least 1");
    }
    if (leaseTime.toMillis() < 100) {
      throw new IllegalArgumentException("ingest.lease must be at least 100 ms");
    }
  }

  /** The delay before retry number {@code attempt} (1-based): base * 2^(attempt-1), capped, jittered. */
  public Duration backoff(int attempt, double jitter) {
    long base = backoffBase.toMillis();
    long raw = base << Math.min(Math.max(attempt - 1, 0), 20);
    long capped = Math.min(raw, backoffMax.toMillis());
    long spread = (long) (capped * 0.25 * jitter);
    return Duration.ofMillis(Math.max(1, capped - spread));
  }
}
