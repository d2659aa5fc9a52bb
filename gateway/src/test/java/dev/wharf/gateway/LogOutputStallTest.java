package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.uploads.ChildGateway;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gateway whose standard output nobody reads (a stalled log shipper, a full pipe) keeps answering: its log lines
 * wait in a bounded queue and are dropped when it is full, counted, and reported once the output moves again. Run
 * as {@code wharf serve} in its own JVM with the product's logging configuration, its output a real pipe.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LogOutputStallTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void uploadsGoOnWhileNothingReadsTheLogAndTheGapIsCountedAndReported() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    try (ChildGateway child = ChildGateway.startWithUnreadOutput(stack, Map.of("WHARF_LOG_QUEUE", "64"))) {
      // Each upload writes a line of about 250 bytes: 600 of them are far more than a pipe holds (64 KiB) and the
      // queue (64 lines). Were logging synchronous, an event loop would block in write() and these would time out.
      for (int i = 0; i < 600; i++) {
        assertThat(upload(child, t, "stall-" + i + ".json").statusCode()).as("upload %d", i).isEqualTo(201);
      }
      assertThat(dropped(child)).as("lines that did not fit were counted").isPositive();

      LogReader reader = new LogReader(child.output());
      reader.start();
      HttpResponse<String> last = upload(child, t, "after-the-stall.json");
      assertThat(last.statusCode()).isEqualTo(201);
      String fileId = new io.vertx.core.json.JsonObject(last.body()).getString("id");
      String text = reader.awaitBoth("log lines dropped [count=", "file=" + fileId, Duration.ofSeconds(30));
      assertThat(text).as("the gap is reported in the log itself").contains("WARN", "log lines dropped [count=");
      assertThat(text).as("and lines flow again").contains("file uploaded", "file=" + fileId);
    }
  }

  private static HttpResponse<String> upload(ChildGateway child, TestStack.Tenant t, String name) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port + "/v1/files"))
        .timeout(Duration.ofSeconds(10))
        .header("Authorization", "Bearer " + t.tokenA())
        .header("X-Wharf-Filename", name)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"stalled\":true}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static double dropped(ChildGateway child) throws Exception {
    String metrics = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + child.port + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    for (String line : metrics.split("\n")) {
      if (line.startsWith("wharf_log_lines_dropped_total")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no wharf_log_lines_dropped_total in /metrics");
  }

  /** Reads the child's output as it comes, so a test can wait for lines in it. */
  private static final class LogReader extends Thread {
    private final InputStream in;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();

    LogReader(InputStream in) {
      super("log-reader");
      setDaemon(true);
      this.in = in;
    }

    @Override
    public void run() {
      byte[] chunk = new byte[8192];
      try {
        for (int n; (n = in.read(chunk)) > 0; ) {
          synchronized (this) {
            seen.write(chunk, 0, n);
            notifyAll();
          }
        }
      } catch (java.io.IOException closed) {
        // the child ended
      }
    }

    /** The output read so far, once it holds both texts or {@code timeout} has passed. */
    synchronized String awaitBoth(String a, String b, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      String text = seen.toString(StandardCharsets.UTF_8);
      while (!(text.contains(a) && text.contains(b)) && System.nanoTime() < deadline) {
        wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        text = seen.toString(StandardCharsets.UTF_8);
      }
      return text;
    }
  }
}
