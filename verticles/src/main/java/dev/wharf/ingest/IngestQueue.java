package dev.wharf.ingest;

import dev.wharf.files.Priority;
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
  default Future<Optional<Lease>> claim(Duration leaseTime) {
    return claim(leaseTime, 1).map(claim -> claim.leases().stream().findFirst());
  }

  /**
   * Promotes due delayed jobs and expired leases back to {@code ready}, then claims up to {@code max} ready
   * jobs in one step, in queue order, each under its own lease (its own token) of {@code leaseTime}.
   */
  Future<Claim> claim(Duration leaseTime, int max);

  /** Extends a lease still held; false when the lease was lost (expired and taken back). */
  default Future<Boolean> extend(Lease lease, Duration leaseTime) {
    return extend(List.of(lease), leaseTime).map(held -> held.get(0));
  }

  /** {@link #extend(Lease, Duration)} for many leases in one step; one answer per lease, in order. */
  Future<List<Boolean>> extend(List<Lease> leases, Duration leaseTime);

  /** Removes a job whose lease is still held; false when the lease was lost. */
  default Future<Boolean> complete(Lease lease) {
    return complete(List.of(lease)).map(held -> held.get(0));
  }

  /** {@link #complete(Lease)} for many leases in one step; one answer per lease, in order. */
  Future<List<Boolean>> complete(List<Lease> leases);

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

  /**
   * The event bus address on which this queue publishes a {@link #readyNotice} after it made a job ready
   * (enqueue, reconcile, a lease handed back); idle workers listen on it instead of polling fast. A notice is a
   * hint: it can be lost, so a worker still polls now and then.
   */
  String readyAddress();

  /** The body of a ready notice, a JSON object (the cross-replica relay carries only those). */
  default io.vertx.core.json.JsonObject readyNotice() {
    return new io.vertx.core.json.JsonObject().put("queue", readyAddress());
  }

  /** A claim: the job and the token that proves this worker still holds it. */
  record Lease(String jobId, String token, Priority priority) {}

  /**
   * What one claim took: the leases, and how long until the earliest delayed job is due ({@code 0} when one
   * is due now, {@code -1} when none is delayed), so an idle worker knows when to look again.
   */
  record Claim(List<Lease> leases, long nextDueMillis) {}

  /** A job Postgres says must be scheduled. */
  record QueuedJob(String jobId, Priority priority, long enqueuedAtMillis) {}

  /** Queue depth. {@code ready} is indexed by {@link Priority#band()}. */
  record QueueStats(long[] ready, long delayed, long leased) {}
}
