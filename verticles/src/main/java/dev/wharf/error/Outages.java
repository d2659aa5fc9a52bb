package dev.wharf.error;

import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;

/** Recognises failures that mean "a backing service cannot be reached" (as opposed to a bad request). */
public final class Outages {

  private Outages() {}

  /** Whether {@code failure}, or a cause of it, is a refused, closed or timed-out connection. */
  public static boolean isConnectionFailure(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConnectException
          || t instanceof ClosedChannelException
          || t instanceof TimeoutException
          || t instanceof io.netty.channel.ConnectTimeoutException
          || t instanceof io.vertx.core.http.HttpClosedException) {
        return true;
      }
      String message = t.getMessage();
      if (message != null && (message.contains("Connection refused") || message.contains("Connection reset")
          || message.contains("Connection is closed") || message.contains("Timeout"))) {
        return true;
      }
    }
    return false;
  }

  /** {@code failure} as a 503 for {@code dependency} when it is a connection failure, else unchanged. */
  public static Throwable asUnavailable(String dependency, Throwable failure) {
    if (failure instanceof WharfException) {
      return failure;
    }
    return isConnectionFailure(failure) ? ServerException.unavailable(dependency, failure) : failure;
  }
}
