package dev.wharf.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The process's meters, rendered in Prometheus text format at {@code /metrics}. One instance per process,
 * passed to whoever counts; meters are thread-safe.
 */
public final class WharfMetrics {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicLong[] readyByBand = new AtomicLong[4];
  private final AtomicLong delayed = new AtomicLong();
  private final AtomicLong leased = new AtomicLong();
  private final AtomicLong dead = new AtomicLong();
  private final AtomicLong uploadsInFlight = new AtomicLong();
  private final AtomicReference<Double> oldestQueuedAge = new AtomicReference<>(0.0);
  private final Map<String, AtomicLong> dependencyUp = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Counter>> counters = new ConcurrentHashMap<>();
  private final Counter uploadBytes = Counter.builder("wharf_upload_bytes_total").register(registry);

  public WharfMetrics() {
    new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
    String[] names = {"urgent", "high", "normal", "low"};
    for (int band = 0; band < 4; band++) {
      readyByBand[band] = new AtomicLong();
      Gauge.builder("wharf_queue_ready", readyByBand[band], AtomicLong::get)
          .description("Ingest jobs ready to run").tag("priority", names[band]).register(registry);
    }
    Gauge.builder("wharf_queue_delayed", delayed, AtomicLong::get).description("Ingest jobs waiting for a retry").register(registry);
    Gauge.builder("wharf_queue_active", leased, AtomicLong::get).description("Ingest jobs claimed by a worker").register(registry);
    Gauge.builder("wharf_queue_dead", dead, AtomicLong::get).description("Ingest jobs whose attempts ran out").register(registry);
    Gauge.builder("wharf_uploads_in_flight", uploadsInFlight, AtomicLong::get).description("Uploads streaming now").register(registry);
    Gauge.builder("wharf_queue_oldest_queued_age_seconds", oldestQueuedAge, AtomicReference::get)
        .description("Age of the oldest queued ingest job (waiting to run or for a retry); 0 when none").register(registry);
    for (String dependency : new String[] {"postgres", "redis", "s3"}) {
      AtomicLong up = new AtomicLong();
      dependencyUp.put(dependency, up);
      Gauge.builder("wharf_dependency_up", up, AtomicLong::get)
          .description("1 when the last readiness check of the dependency passed (checked on every scrape and /readyz)")
          .tag("dependency", dependency).register(registry);
    }
  }

  /** Records the age of the oldest queued job, in seconds. */
  public void oldestQueuedAge(double seconds) {
    oldestQueuedAge.set(seconds);
  }

  /** Records the outcome of a readiness check of {@code dependency} (postgres, redis, s3). */
  public void dependencyUp(String dependency, boolean up) {
    AtomicLong gauge = dependencyUp.get(dependency);
    if (gauge != null) {
      gauge.set(up ? 1 : 0);
    }
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Counts an upload that ended with {@code outcome} (created, checksum_mismatch, payload_too_large, ...). */
  public void upload(String outcome, long bytes) {
    counter("wharf_uploads_total", "outcome", outcome).increment();
    if (bytes > 0) {
      uploadBytes.increment(bytes);
    }
  }

  public AtomicLong uploadsInFlight() {
    return uploadsInFlight;
  }

  /** Counts a job attempt that ended with {@code outcome} (processed, failed, retried, dead, fenced). */
  public void jobOutcome(String outcome, Duration took) {
    Counter.builder("wharf_jobs_total").tag("outcome", outcome).register(registry).increment();
    Timer.builder("wharf_job_duration").tag("outcome", outcome).register(registry).record(took);
  }

  /** Counts any other event worth a dashboard line (reconciled jobs, swept uploads...). */
  public void count(String name, String tagKey, String tagValue, double amount) {
    counter(name, tagKey, tagValue).increment(amount);
  }

  /**
   * The counter {@code name{tagKey=tagValue}}, registered on first use and then found without a builder, an id or
   * a registry lookup: counting is on the request path. A name always comes with the same tag key.
   */
  private Counter counter(String name, String tagKey, String tagValue) {
    Map<String, Counter> byValue = counters.get(name);
    if (byValue == null) {
      byValue = counters.computeIfAbsent(name, n -> new ConcurrentHashMap<>());
    }
    Counter counter = byValue.get(tagValue);
    if (counter == null) {
      counter = byValue.computeIfAbsent(tagValue, v -> Counter.builder(name).tag(tagKey, v).register(registry));
    }
    return counter;
  }

  public void queueDepth(long[] ready, long delayedCount, long leasedCount, long deadCount) {
    for (int band = 0; band < 4 && band < ready.length; band++) {
      readyByBand[band].set(ready[band]);
    }
    delayed.set(delayedCount);
    leased.set(leasedCount);
    dead.set(deadCount);
  }

  public String scrape() {
    return registry.scrape();
  }
}
