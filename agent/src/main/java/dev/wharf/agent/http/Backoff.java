package dev.wharf.agent.http;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: the n-th wait is drawn from [d/2, d] where d = min(max, base × 2ⁿ), so a
 * fleet that lost its gateway at one instant does not come back at one instant. A {@code Retry-After} from
 * the gateway is honoured (plus up to a second of jitter) instead.
 */
public final class Backoff {

  private final long baseMillis;
  private final long maxMillis;
  private int failures;

  public Backoff(Duration base, Duration max) {
    this.baseMillis = Math.max(1, base.toMillis());
    this.maxMillis = Math.max(baseMillis, max.toMillis());
  }

  /** How long to wait after one more failure; {@code retryAfterSeconds} ≥ 0 when the gateway named one. */
  public Duration next(long retryAfterSeconds) {
    failures++;
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (retryAfterSeconds >= 0) {
      long jitter = random.nextLong(Math.min(1000, maxMillis) + 1);
      return Duration.ofMillis(Math.min(retryAfterSeconds * 1000, 300_000) + jitter);
    }
    long ceiling = maxMillis;
    if (failures < 31) {
      ceiling = Math.min(maxMillis, baseMillis << (failures - 1));
    }
    return Duration.ofMillis(ceiling / 2 + random.nextLong(ceiling / 2 + 1));
  }

  public void reset() {
    failures = 0;
  }

  public int failures() {
    return failures;
  }

  /**
   * Sleeps for {@code wait}; an interrupt ends the command. The agent is a blocking command-line program
   * with one thread of work and no event loop, so waiting between retries is simply a sleep here.
   */
  public static void pause(Duration wait) {
    try {
      Thread.sleep(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.util.concurrent.CancellationException("interrupted");
    }
  }
}
