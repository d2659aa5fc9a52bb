package dev.wharf.bench;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Samples the gateway's heap from its {@code /metrics} every {@code periodMillis}: the used heap summed over
 * Micrometer's heap pools ({@code jvm_memory_used_bytes{area="heap",id=…}}: eden, survivor, old), keeping the
 * minimum and the maximum seen since {@link #start}. Garbage not yet collected counts as used: this is what
 * the JVM holds, not what is live.
 */
final class HeapWatch implements AutoCloseable {

  private final GatewayProcess gateway;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "heap-watch");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong min = new AtomicLong(Long.MAX_VALUE);
  private final AtomicLong max = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong maxBesideEden = new AtomicLong(Long.MIN_VALUE);
  private final AtomicInteger samples = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();

  private HeapWatch(GatewayProcess gateway) {
    this.gateway = gateway;
  }

  /** Starts sampling now; stop with {@link #close}. */
  static HeapWatch start(GatewayProcess gateway, long periodMillis) {
    HeapWatch watch = new HeapWatch(gateway);
    watch.timer.scheduleWithFixedDelay(watch::sample, 0, periodMillis, TimeUnit.MILLISECONDS);
    return watch;
  }

  private void sample() {
    try {
      String page = gateway.metrics();
      long used = heapUsed(page, true);
      min.accumulateAndGet(used, Math::min);
      max.accumulateAndGet(used, Math::max);
      maxBesideEden.accumulateAndGet(heapUsed(page, false), Math::max);
      samples.incrementAndGet();
    } catch (Exception e) {
      failures.incrementAndGet();
    }
    synchronized (samples) {
      samples.notifyAll();
    }
  }

  /**
   * The sum of {@code jvm_memory_used_bytes} over the heap pools in a Prometheus text page; without eden when
   * {@code withEden} is false (what survived the last young collection: survivor and old).
   */
  static long heapUsed(String prometheusText, boolean withEden) {
    long sum = 0;
    boolean found = false;
    for (String line : prometheusText.split("\n")) {
      if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")
          && (withEden || !line.contains("Eden"))) {
        sum += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    if (!found) {
      throw new IllegalStateException("no jvm_memory_used_bytes{area=\"heap\"} in /metrics");
    }
    return sum;
  }

  long min() {
    return min.get();
  }

  long max() {
    return max.get();
  }

  /** The greatest survivor + old generation use seen: a bound on what stayed live across young GCs. */
  long maxBesideEden() {
    return maxBesideEden.get();
  }

  int samples() {
    return samples.get();
  }

  /**
   * Waits (on the driver's thread) until sampling has covered {@code window}: the samples a period of
   * {@code periodMillis} takes in it, or the window plus a second when metrics do not answer.
   */
  void coverWindow(long window, long periodMillis) throws InterruptedException {
    int wanted = samples.get() + (int) Math.max(1, window / Math.max(1, periodMillis));
    synchronized (samples) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(window + 1000);
      while (samples.get() + failures.get() < wanted && System.nanoTime() < deadline) {
        samples.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      }
    }
  }

  int failures() {
    return failures.get();
  }

  /** Stops sampling and waits for a sample in progress. */
  @Override
  public void close() throws InterruptedException {
    timer.shutdown();
    timer.awaitTermination(10, TimeUnit.SECONDS);
  }
}
