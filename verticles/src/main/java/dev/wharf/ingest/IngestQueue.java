package dev.wharf.ingest;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The ingest schedule in Redis. Postgres holds the truth about each job; this holds only which job runs
 * next. Three sorted sets under one hash tag: {@code ready} (score = priority band, then enqueue time, so
 * bands run in order and FIFO within a band), {@code delayed} (score = due time, for retries) and
 * {@code leases} (score = lease expiry, for claimed jobs). Every mutation is one Lua script.
 */
public interface IngestQueue {

  /** Adds a job to {@code ready} unless it is already in any of the three sets. */
  Future<Void> enqueue(String jobId, Priority priority, long enqueuedAtMillis);

  /**
   * Promotes due delayed jobs and expired leases back to {@code ready}, then claims the first ready job
   * under a new lease of {@code leaseTime}. Empty when nothing is ready.
   */
  Future<Optional<Lease>> claim(Duration leaseTime);

  /** Extends a lease still held; false when the lease was lost (expired and taken back). */
  Future<Boolean> extend(Lease lease, Duration leaseTime);

  /** Removes a job whose lease is still held; false when the lease was lost. */
  Future<Boolean> complete(Lease lease);

  /** Moves a job whose lease is still held to {@code delayed}, due after {@code delay}; false when lost. */
  Future<Boolean> retryLater(Lease lease, Duration delay);

  /** Removes a job from all three sets, whatever holds it (cancel, delete). */
  Future<Void> remove(String jobId);

  /**
   * Re-adds those of {@code jobs} that are in none of the three sets (after a Redis flush or restart).
   * Returns how many were added.
   */
  Future<Integer> reconcile(List<QueuedJob> jobs);

  /** Ready jobs per priority, delayed and leased counts. */
  Future<QueueStats> stats();

  /** A claim: the job and the token that proves this worker still holds it. */
  record Lease(String jobId, String token, Priority priority) {}

  /** A job Postgres says must be scheduled. */
  record QueuedJob(String jobId, Priority priority, long enqueuedAtMillis) {}

  /** Queue depth. {@code ready} is indexed by {@link Priority#band()}. */
  record QueueStats(long[] ready, long delayed, long leased) {}
}
