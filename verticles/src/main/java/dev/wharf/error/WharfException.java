package dev.wharf.error;

/**
 * The one failure type that crosses layers. Every failure a caller can act on carries a stable
 * {@link #code()} and the HTTP status it maps to; the HTTP failure handler turns it into problem+json and
 * the MQTT layer into an error reply. Anything that is not a {@code WharfException} is an internal error.
 */
public abstract sealed class WharfException extends RuntimeException
    permits ClientException, ServerException {

  private final String code;
  private final int status;

  protected WharfException(int status, String code, String message, Throwable cause) {
    super(message, cause, true, cause != null);
    this.status = status;
    this.code = code;
  }

  /** A stable, machine-readable error code such as {@code checksum_mismatch}. */
  public String code() {
    return code;
  }

  /** The HTTP status this failure maps to. */
  public int status() {
    return status;
  }
}
