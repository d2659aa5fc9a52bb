package dev.wharf.agent.upload;

import dev.wharf.agent.http.Backoff;
import java.time.Duration;

/** Keeps the bytes sent under a rate (bytes per second) over the whole run; 0 means no limit. */
final class RateLimit {

  private final long bytesPerSecond;
  private final long start = System.nanoTime();
  private long sent;

  RateLimit(long bytesPerSecond) {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Counts {@code n} bytes and waits until sending them keeps to the rate. */
  synchronized void take(int n) {
    if (bytesPerSecond <= 0) {
      return;
    }
    sent += n;
    long due = start + sent * 1_000_000_000L / bytesPerSecond;
    long ahead = due - System.nanoTime();
    if (ahead > 1_000_000L) {
      Backoff.pause(Duration.ofNanos(ahead));
    }
  }
}
