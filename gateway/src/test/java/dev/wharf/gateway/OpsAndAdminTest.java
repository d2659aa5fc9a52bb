package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What an operator sees: health, metrics, the spec, queue stats, dead jobs and their retry, cancel. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class OpsAndAdminTest {

  static TestStack stack;
  String workers;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @AfterEach
  void stopWorkers() throws Exception {
    if (workers != null) {
      stack.vertx.undeploy(workers).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      workers = null;
    }
  }

  @Test
  void healthMetricsAndSpecAreServedWithoutAToken(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
            .putHeader("X-Wharf-Filename", "m.txt").sendBuffer(Buffer.buffer("metrics")))
        .compose(up -> Future.all(stack.client.get("/healthz").send(), stack.client.get("/metrics").send(),
            stack.client.get("/openapi.yaml").send()))
        .map(all -> {
          io.vertx.ext.web.client.HttpResponse<Buffer> health = all.resultAt(0);
          io.vertx.ext.web.client.HttpResponse<Buffer> metrics = all.resultAt(1);
          io.vertx.ext.web.client.HttpResponse<Buffer> spec = all.resultAt(2);
          ctx.verify(() -> {
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(metrics.bodyAsString())
                .contains("wharf_uploads_total{outcome=\"created\"}")
                .contains("wharf_upload_bytes_total")
                .contains("wharf_queue_ready{priority=\"urgent\"}")
                .contains("jvm_memory_used_bytes");
            assertThat(spec.statusCode()).isEqualTo(200);
            assertThat(spec.bodyAsString()).contains("/v1/files/{id}/content");
          });
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void jobWhoseAttemptsAreUsedUpGoesDeadAndAdminRetryRunsItAgain(VertxTestContext ctx) throws Exception {
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    JsonObject file = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "d.json")
        .putHeader("X-Wharf-Priority", "urgent").sendBuffer(Buffer.buffer("{\"dead\":false}"))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).bodyAsJsonObject();
    String jobId = file.getString("job_id");
    // The state workers that crashed on this job once per attempt leave behind: every attempt used, the last one's
    // error recorded. (An outage cannot make a job dead: attempts it cuts are not counted, IngestOutageAttemptsTest.)
    stack.app.services().pool().preparedQuery("UPDATE ingest_jobs SET attempts = max_attempts, last_error = 'worker crashed' WHERE id = $1")
        .execute(io.vertx.sqlclient.Tuple.of(java.util.UUID.fromString(jobId)))
        .compose(done -> stack.startWorkers(1))
        .compose(id -> {
          workers = id;
          return stack.eventually(Duration.ofSeconds(40), () -> job(t, jobId).map(j -> "dead".equals(j.getString("status"))));
        })
        .compose(v -> Future.all(job(t, jobId), stack.client.get("/v1/files/" + file.getString("id")).bearerTokenAuthentication(t.tokenA()).send(),
            stack.client.get("/v1/admin/queues").bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send()))
        .compose(all -> {
          JsonObject job = all.resultAt(0);
          JsonObject failedFile = ((io.vertx.ext.web.client.HttpResponse<Buffer>) all.resultAt(1)).bodyAsJsonObject();
          JsonObject queues = ((io.vertx.ext.web.client.HttpResponse<Buffer>) all.resultAt(2)).bodyAsJsonObject();
          ctx.verify(() -> {
            assertThat(job.getInteger("attempts")).isEqualTo(job.getInteger("max_attempts") + 1);
            assertThat(job.getString("last_error")).contains("worker crashed");
            assertThat(failedFile.getString("status")).isEqualTo("failed");
            assertThat(failedFile.getString("status_detail")).contains("attempts exhausted: worker crashed");
            assertThat(queues.getLong("dead")).isGreaterThanOrEqualTo(1);
            assertThat(queues.getJsonObject("ready").fieldNames()).containsExactlyInAnyOrder("urgent", "high", "normal", "low");
          });
          return stack.client.post("/v1/admin/jobs/" + jobId + "/retry").bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send();
        })
        .compose(retry -> {
          ctx.verify(() -> assertThat(retry.statusCode()).as(retry.bodyAsString()).isEqualTo(200));
          return stack.eventually(Duration.ofSeconds(30), () -> job(t, jobId).map(j -> "succeeded".equals(j.getString("status"))));
        })
        .compose(v -> stack.client.get("/v1/files/" + file.getString("id")).bearerTokenAuthentication(t.tokenA()).send())
        .compose(after -> {
          ctx.verify(() -> assertThat(after.bodyAsJsonObject().getString("status")).isEqualTo("processed"));
          return stack.client.post("/v1/admin/jobs/" + jobId + "/retry").bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send();
        })
        .onComplete(ctx.succeeding(again -> ctx.verify(() -> {
          assertThat(again.statusCode()).isEqualTo(409);
          assertThat(again.bodyAsJsonObject().getString("code")).isEqualTo("job_not_dead");
          ctx.completeNow();
        })));
  }

  @Test
  void cancelledJobIsNotRunAndListsByStatus(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "c.json").sendBuffer(Buffer.buffer("{}"))
        .compose(up -> stack.client.post("/v1/jobs/" + up.bodyAsJsonObject().getString("job_id") + "/cancel").bearerTokenAuthentication(t.tokenA()).send())
        .compose(cancelled -> {
          ctx.verify(() -> assertThat(cancelled.bodyAsJsonObject().getString("status")).isEqualTo("cancelled"));
          return stack.client.get("/v1/jobs?status=cancelled").bearerTokenAuthentication(t.tokenA()).send();
        })
        .compose(list -> {
          ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).hasSize(1));
          return stack.client.get("/v1/jobs?status=bogus").bearerTokenAuthentication(t.tokenA()).send();
        })
        .map(bad -> {
          ctx.verify(() -> assertThat(bad.bodyAsJsonObject().getString("code")).isEqualTo("invalid_status"));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  static Future<JsonObject> job(TestStack.Tenant t, String id) {
    return stack.client.get("/v1/jobs/" + id).bearerTokenAuthentication(t.tokenA()).send().map(r -> r.bodyAsJsonObject());
  }
}
