package dev.wharf.uploads;

import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * A resumable upload as stored: the file it becomes, the S3 multipart upload behind it, and how far it is.
 * The durable offset is {@code partsBytes + tailBytes}.
 */
public record UploadSession(
    UUID fileId,
    String tenantId,
    String deviceId,
    Protocol protocol,
    String req,
    String uploadId,
    String objectKey,
    int partSize,
    Long declaredLength,
    String expectedSha256,
    int priority,
    State state,
    long partsBytes,
    int partsCount,
    int tailBytes,
    byte[] hashState,
    String leaseOwner,
    OffsetDateTime leaseUntil,
    OffsetDateTime expiresAt,
    OffsetDateTime createdAt,
    String filename,
    String contentType,
    OffsetDateTime pausedAt) {

  /** How the bytes arrive: through the gateway (tus) or straight to storage (presigned part URLs). */
  public enum Protocol { TUS, DIRECT }

  /** {@code active → completing → completed}; aborted and expired sessions are deleted. */
  public enum State { ACTIVE, COMPLETING, COMPLETED }

  /** Paused by its device: an active direct session that takes nothing until it is resumed. */
  public boolean paused() {
    return pausedAt != null && state == State.ACTIVE;
  }

  /** Every byte storage holds for this upload, as far as it is recorded. */
  public long offset() {
    return state == State.COMPLETED && declaredLength != null ? declaredLength : partsBytes + tailBytes;
  }

  /** The object holding the bytes after the last full part: beside the file's own key, {@code ….tail}. */
  public String tailKey() {
    return tailKey(objectKey);
  }

  static String tailKey(String objectKey) {
    return objectKey + ".tail";
  }

  public boolean lengthKnown() {
    return declaredLength != null;
  }
}
