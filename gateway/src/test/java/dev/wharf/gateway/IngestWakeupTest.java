package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.IngestConfig;
import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.ingest.IngestQueue;
import dev.wharf.ingest.IngestWorker;
import dev.wharf.files.Priority;
import dev.wharf.ingest.RedisIngestQueue;
import dev.wharf.ingest.validate.ValidationLimits;
import dev.wharf.ingest.validate.Validators;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisOptions;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An idle ingest worker is woken by the queue's ready notice, not by its poll; and a notice that never arrives
 * (as when the relay between replicas is down) is made up by the fallback poll. Each test runs its worker on a
 * queue namespace of its own, so no other test's jobs or delayed retries can wake it.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IngestWakeupTest {

  @Test
  void aReadyNoticeWakesAnIdleWorkerLongBeforeItsPoll() throws Exception {
    TestStack stack = TestStack.get();
    Services s = stack.app.services();
    IngestQueue own = await(RedisIngestQueue.create(stack.vertx, s.redis(), "wake-" + UUID.randomUUID()));
    // The poll would come after an hour; the worker's start claims once (the queue is empty) before it reports started.
    String worker = await(deployWorker(stack, own, Duration.ofHours(1)));
    try {
      Upload upload = upload(stack);
      await(own.enqueue(upload.jobId().toString(), Priority.NORMAL, System.currentTimeMillis()));
      assertThat(awaitProcessed(stack, upload)).isEqualTo("processed");
    } finally {
      await(stack.vertx.undeploy(worker));
    }
  }

  @Test
  void aLostNoticeIsMadeUpByTheFallbackPoll() throws Exception {
    TestStack stack = TestStack.get();
    Services s = stack.app.services();
    String namespace = "lost-" + UUID.randomUUID();
    IngestQueue own = await(RedisIngestQueue.create(stack.vertx, s.redis(), namespace));
    String worker = await(deployWorker(stack, own, Duration.ofMillis(300)));
    // Enqueued through another Vert.x instance, as another replica would with the relay down: its notice goes
    // out on that instance's event bus and never reaches this worker.
    Vertx elsewhere = Vertx.vertx();
    Redis client = Redis.createClient(elsewhere, new RedisOptions().setConnectionString(s.config().redis().uri()));
    try {
      IngestQueue remote = await(RedisIngestQueue.create(elsewhere, RedisAPI.api(client), namespace));
      Upload upload = upload(stack);
      await(remote.enqueue(upload.jobId().toString(), Priority.NORMAL, System.currentTimeMillis()));
      assertThat(awaitProcessed(stack, upload)).isEqualTo("processed");
    } finally {
      await(stack.vertx.undeploy(worker));
      client.close();
      await(elsewhere.close());
    }
  }

  private record Upload(Tenant tenant, String fileId, UUID jobId) {}

  /** A small upload whose job is taken out of the stack's own queue, so only the test's worker can run it. */
  private static Upload upload(TestStack stack) throws Exception {
    Tenant t = await(stack.newTenant());
    var resp = await(stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "w.json")
        .sendBuffer(Buffer.buffer("{\"wake\":true}")));
    assertThat(resp.statusCode()).isEqualTo(201);
    UUID job = UUID.fromString(resp.bodyAsJsonObject().getString("job_id"));
    // The job reaches Redis just after the 201 (its enqueue leaves at the end of the turn that answered): wait
    // for it there, or the removal could come first and the job would stay queued behind the test's back.
    String ready = "wharf:{" + stack.app.services().config().redis().namespace() + "}:ready";
    await(stack.eventually(Duration.ofSeconds(10),
        () -> stack.app.services().redis().zscore(ready, job.toString()).map(score -> score != null)));
    await(stack.app.services().queue().remove(job.toString()));
    return new Upload(t, resp.bodyAsJsonObject().getString("id"), job);
  }

  private static Future<String> deployWorker(TestStack stack, IngestQueue queue, Duration poll) {
    Services s = stack.app.services();
    IngestConfig base = s.config().ingest();
    IngestConfig cfg = new IngestConfig(1, 2, base.leaseTime(), base.maxAttempts(), base.backoffBase(), base.backoffMax(), poll,
        base.reconcileInterval(), base.staleUploadAfter(), base.stallTimeout(), base.retention(), 4);
    return stack.vertx.deployVerticle(() -> new IngestWorker(s.pool(), s.blobs(), queue, cfg,
        Validators.standard(ValidationLimits.defaults()), s.metrics()), new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
  }

  /** Waits (at most 20 s) until the file is verified; answers its status. */
  private static String awaitProcessed(TestStack stack, Upload upload) throws Exception {
    JsonObject[] file = new JsonObject[1];
    await(stack.eventually(Duration.ofSeconds(20), () -> stack.client.get("/v1/files/" + upload.fileId())
        .bearerTokenAuthentication(upload.tenant().tokenA()).send()
        .map(r -> {
          file[0] = r.bodyAsJsonObject();
          return "processed".equals(file[0].getString("status"));
        })));
    return file[0].getString("status");
  }
}
