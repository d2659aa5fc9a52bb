package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.blob.S3BlobStore;
import dev.wharf.config.IngestConfig;
import dev.wharf.config.S3Config;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An ingest attempt cut by a storage outage judged nothing about the file, so it does not use up the job's
 * attempts: a worker whose S3 endpoint refuses every connection (nothing listens there) fails attempt after
 * attempt, well past {@code ingest.max-attempts}, and the job stays queued instead of dying with its file
 * {@code failed}; once storage answers, the job succeeds and the file is processed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IngestOutageAttemptsTest {

  @Test
  void attemptsCutByAStorageOutageDoNotExhaustTheJob() throws Exception {
    TestStack stack = TestStack.get();
    Services s = stack.app.services();
    Tenant t = await(stack.newTenant());
    TestStack.Uploaded up = await(stack.uploadUrgent(t, "o.json", "{\"outage\":true}"));
    UUID job = up.jobId();
    String fileId = up.fileId();

    int deadPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      deadPort = probe.getLocalPort();
    }
    S3Config real = s.config().s3();
    S3Config down = new S3Config(URI.create("http://127.0.0.1:" + deadPort), real.region(), real.bucket(), real.accessKey(),
        real.secretKey(), real.pathStyle(), real.partSize(), real.partsInFlight(), Duration.ofSeconds(3), Duration.ofSeconds(1),
        real.maxConnections());
    S3BlobStore unreachable = S3BlobStore.create(stack.vertx, down);
    IngestConfig base = s.config().ingest();
    // The job's budget is the one it was created with (the suite's gateway: 3 attempts).
    int budget = await(jobRow(s, job)).getInteger("max_attempts");
    IngestConfig few = new IngestConfig(1, 2, Duration.ofSeconds(30), budget, Duration.ofMillis(50), Duration.ofMillis(200),
        base.pollInterval(), base.reconcileInterval(), base.staleUploadAfter(), base.stallTimeout(), base.retention());
    String failing = await(stack.startWorker(unreachable, few));
    Row[] seen = new Row[1];
    try {
      // Twice the budget, every attempt refused by storage: still queued (or running), never dead.
      await(stack.eventually(Duration.ofSeconds(60), () -> jobRow(s, job).map(row -> {
        seen[0] = row;
        return row.getInteger("attempts") >= 2 * budget + 1 && "queued".equals(row.getString("status"));
      })));
    } finally {
      await(stack.vertx.undeploy(failing));
      await(unreachable.close());
    }
    assertThat(seen[0].getString("last_error")).isNotBlank();
    assertThat(seen[0].getInteger("max_attempts")).isGreaterThanOrEqualTo(seen[0].getInteger("attempts"));
    JsonObject during = await(stack.client.get("/v1/files/" + fileId).bearerTokenAuthentication(t.tokenA()).send()).bodyAsJsonObject();
    assertThat(during.getString("status")).isIn("uploaded", "processing");

    String healthy = await(stack.startWorkers(2));
    try {
      assertThat(await(stack.awaitFileStatus(t, fileId, "processed", Duration.ofSeconds(30))).getString("status")).isEqualTo("processed");
      Row done = await(jobRow(s, job));
      assertThat(done.getString("status")).isEqualTo("succeeded");
      assertThat(done.getInteger("attempts")).isGreaterThan(budget);
    } finally {
      await(stack.vertx.undeploy(healthy));
    }
  }

  private static Future<Row> jobRow(Services s, UUID job) {
    return s.pool().preparedQuery("SELECT status, attempts, max_attempts, last_error FROM ingest_jobs WHERE id = $1")
        .execute(Tuple.of(job)).map(rows -> rows.iterator().next());
  }
}
