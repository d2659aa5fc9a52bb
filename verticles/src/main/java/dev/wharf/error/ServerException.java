package dev.wharf.error;

/**
 * Wharf could not do its part (5xx). {@link #retryAfterSeconds()} is set when a dependency is down and a
 * retry is expected to succeed later.
 */
public final class ServerException extends WharfException {

  private final int retryAfterSeconds;

  public ServerException(int status, String code, String message, Throwable cause, int retryAfterSeconds) {
    super(status, code, message, cause);
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** A dependency (Postgres, Redis, S3) is unavailable: 503 with Retry-After. */
  public static ServerException unavailable(String dependency, Throwable cause) {
    return new ServerException(503, dependency + "_unavailable", dependency + " is unavailable, retry later", cause, 5);
  }

  /** Wharf is shedding load. */
  public static ServerException overloaded(String message) {
    return new ServerException(503, "overloaded", message, null, 1);
  }

  public int retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
