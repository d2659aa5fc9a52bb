package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Stopping a gateway finishes the job its worker is running (or hands it back), and stops accepting. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class GracefulStopTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void stopLeavesNoJobActiveAndRefusesNewConnections(VertxTestContext ctx) throws Exception {
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    StringBuilder lines = new StringBuilder();
    for (int i = 0; lines.length() < 24 * 1024 * 1024; i++) {
      lines.append("{\"seq\":").append(i).append(",\"payload\":\"").append("x".repeat(200)).append("\"}\n");
    }
    JsonObject file = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "long.jsonl").putHeader("X-Wharf-Priority", "urgent")
        .sendBuffer(Buffer.buffer(lines.toString())).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS).bodyAsJsonObject();
    String jobId = file.getString("job_id");

    int port = TestStack.freePort();
    WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, port, Map.of("WHARF_INGEST_WORKERS", "1", "WHARF_INGEST_CONCURRENCY", "1")));
    WharfApp second = WharfApp.start(stack.vertx, config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    WebClient secondClient = WebClient.create(stack.vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));

    stack.eventually(Duration.ofSeconds(60), () -> job(t, jobId).map(j -> !"queued".equals(j.getString("status"))))
        .compose(v -> second.stop())
        .compose(v -> job(t, jobId))
        .compose(job -> {
          ctx.verify(() -> assertThat(job.getString("status")).as("finished during the grace period, or handed back")
              .isIn("succeeded", "queued"));
          return secondClient.get("/healthz").send();
        })
        .onComplete(ar -> ctx.verify(() -> {
          assertThat(ar.failed()).as("the stopped gateway no longer accepts connections").isTrue();
          ctx.completeNow();
        }));
  }

  static io.vertx.core.Future<JsonObject> job(TestStack.Tenant t, String id) {
    return stack.client.get("/v1/jobs/" + id).bearerTokenAuthentication(t.tokenA()).send().map(r -> r.bodyAsJsonObject());
  }
}
