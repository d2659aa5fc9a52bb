package dev.wharf.config;

import java.time.Duration;

/**
 * Resumable upload sessions (tus and presigned direct-to-S3).
 *
 * @param ttl an idle session expires this long after its last durable byte; the sweeper then aborts it
 * @param lease how long a PATCH holds a session against a second one; renewed while bytes flow, so after a
 *     gateway dies the next PATCH waits at most this long
 * @param presignTtl lifetime of a presigned part URL
 * @param presignBatch part URLs handed out at once (more on request)
 * @param auditRetention how long audit events are kept
 * @param sweepInterval how often the leader sweeps expired sessions, abandoned streams and orphaned
 *     multipart uploads
 * @param pauseMax how long a paused direct session is kept before it expires like an idle one
 */
public record SessionConfig(Duration ttl, Duration lease, Duration presignTtl, int presignBatch, Duration auditRetention,
    Duration sweepInterval, Duration pauseMax) {

  public SessionConfig {
    if (ttl.toSeconds() < 1) {
      throw new IllegalArgumentException("uploads.session-ttl must be at least 1s");
    }
    if (lease.toMillis() < 500) {
      throw new IllegalArgumentException("uploads.session-lease must be at least 500ms");
    }
    if (presignTtl.toSeconds() < 1 || presignTtl.toDays() > 7) {
      throw new IllegalArgumentException("uploads.presign-ttl must be between 1s and 7d");
    }
    if (presignBatch < 1 || presignBatch > 1000) {
      throw new IllegalArgumentException("uploads.presign-batch must be from 1 to 1000");
    }
    if (pauseMax.toSeconds() < 1) {
      throw new IllegalArgumentException("uploads.pause-max must be at least 1s");
    }
    if (sweepInterval.toMillis() < 100) {
      throw new IllegalArgumentException("uploads.sweep-interval must be at least 100ms");
    }
  }
}
