package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.http.UploadSlots;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The gauges the alert rules fire on: each dependency's readiness, and the oldest queued job's age. */
class HealthMetricsTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  private static String metrics() throws Exception {
    return stack.client.get("/metrics").send().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).bodyAsString();
  }

  private static double value(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
    assertThat(m.find()).as(series + " in\n" + metrics).isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void dependencyUpFollowsStorageGoingDownAndComingBack() throws Exception {
    assertThat(value(metrics(), "wharf_dependency_up{dependency=\"s3\"}")).isEqualTo(1.0);
    stack.servers.stopS3();
    String down;
    try {
      down = metrics();
    } finally {
      stack.servers.startS3Again();
    }
    assertThat(value(down, "wharf_dependency_up{dependency=\"s3\"}")).isEqualTo(0.0);
    assertThat(value(down, "wharf_dependency_up{dependency=\"postgres\"}")).isEqualTo(1.0);
    assertThat(value(down, "wharf_dependency_up{dependency=\"redis\"}")).isEqualTo(1.0);
    stack.eventually(Duration.ofSeconds(20), () -> stack.client.get("/metrics").send()
            .map(r -> r.bodyAsString().contains("wharf_dependency_up{dependency=\"s3\"} 1.0")))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aShedUploadIsCountedAsOverloaded() {
    WharfMetrics metrics = new WharfMetrics();
    UploadSlots slots = new UploadSlots(0, metrics.uploadsInFlight(), () -> metrics.upload("overloaded", 0));
    assertThat(slots.run(() -> Future.succeededFuture("never")).failed()).isTrue();
    assertThat(value(metrics.scrape(), "wharf_uploads_total{outcome=\"overloaded\"}")).isEqualTo(1.0);
  }

  @Test
  void oldestQueuedAgeCountsAJobNobodyRuns() throws Exception {
    // The test stack runs no workers, so this job stays queued.
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    int status = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "q.json")
        .sendBuffer(Buffer.buffer("{}")).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).statusCode();
    assertThat(status).isEqualTo(201);
    stack.eventually(Duration.ofSeconds(20), () -> stack.client.get("/metrics").send()
            .map(r -> value(r.bodyAsString(), "wharf_queue_oldest_queued_age_seconds") > 0))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
