package dev.wharf.grants;

import dev.wharf.files.Priority;
import java.time.OffsetDateTime;
import java.util.Locale;
import java.util.UUID;

/**
 * A promise of one upload: who may PUT what, until when. {@code id} is the id the file will get.
 */
public record UploadGrant(
    UUID id,
    String tenantId,
    String deviceId,
    String req,
    String filename,
    long size,
    String sha256,
    String contentType,
    Priority priority,
    State state,
    OffsetDateTime expiresAt) {

  /** {@code open → uploading → used}, {@code uploading → open} on a failed PUT, {@code open → expired}. */
  public enum State {
    OPEN, UPLOADING, USED, EXPIRED;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static State fromWire(String value) {
      return valueOf(value.toUpperCase(Locale.ROOT));
    }
  }

  /** Whether the URL can no longer be used: expired, or open past its expiry. */
  public boolean isExpired(OffsetDateTime now) {
    return state == State.EXPIRED || (state == State.OPEN && !expiresAt.isAfter(now));
  }
}
