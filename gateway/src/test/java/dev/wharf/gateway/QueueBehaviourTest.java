package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.files.FileStore;
import dev.wharf.ingest.IngestQueue.Lease;
import dev.wharf.ingest.JobStatus;
import dev.wharf.ingest.JobStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The schedule as a fleet sees it: priority order, a worker dying mid-job, a Redis flush. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class QueueBehaviourTest {

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

  static Future<JsonObject> upload(String token, String name, String priority) {
    return stack.client.post("/v1/files").bearerTokenAuthentication(token).putHeader("X-Wharf-Filename", name)
        .putHeader("X-Wharf-Priority", priority).sendBuffer(Buffer.buffer("{\"n\":\"" + name + "\"}"))
        .map(resp -> {
          if (resp.statusCode() != 201) {
            throw new AssertionError("upload answered " + resp.statusCode() + ": " + resp.bodyAsString());
          }
          return resp.bodyAsJsonObject();
        });
  }

  static Future<JsonObject> job(String token, String jobId) {
    return stack.client.get("/v1/jobs/" + jobId).bearerTokenAuthentication(token).send().map(r -> r.bodyAsJsonObject());
  }

  static Future<Void> awaitJob(String token, String jobId, String status) {
    return stack.eventually(Duration.ofSeconds(40), () -> job(token, jobId).map(j -> status.equals(j.getString("status"))));
  }

  @Test
  void urgentJobEnqueuedLaterRunsBeforeLowJobEnqueuedFirst(VertxTestContext ctx) {
    stack.newTenant().compose(t -> upload(t.tokenA(), "low.json", "low")
        .compose(low -> upload(t.tokenA(), "urgent.json", "urgent").map(urgent -> List.of(low, urgent)))
        .compose(files -> stack.startWorkers(1).compose(id -> {
          workers = id;
          String lowJob = files.get(0).getString("job_id");
          String urgentJob = files.get(1).getString("job_id");
          return awaitJob(t.tokenA(), lowJob, "succeeded")
              .compose(v -> awaitJob(t.tokenA(), urgentJob, "succeeded"))
              .compose(v -> Future.all(job(t.tokenA(), lowJob), job(t.tokenA(), urgentJob)));
        }))
        .map(jobs -> {
          JsonObject low = jobs.resultAt(0);
          JsonObject urgent = jobs.resultAt(1);
          ctx.verify(() -> assertThat(OffsetDateTime.parse(urgent.getString("started_at")))
              .isBefore(OffsetDateTime.parse(low.getString("started_at"))));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void workerKilledMidJobLosesItsLeaseAndTheJobRunsAgainOnce(VertxTestContext ctx) {
    var services = stack.app.services();
    stack.newTenant().compose(t -> upload(t.tokenA(), "orphan.json", "urgent").compose(file -> {
      UUID jobId = UUID.fromString(file.getString("job_id"));
      // A worker claims the job, starts attempt 1, marks the file processing, and dies: no complete, no heartbeat.
      return claimSpecific(jobId.toString(), Duration.ofMillis(500))
          .compose(deadLease -> JobStore.startAttempt(services.pool(), jobId)
              .compose(started -> FileStore.markProcessing(services.pool(), UUID.fromString(file.getString("id"))))
              .compose(v -> stack.startWorkers(1))
              .compose(id -> {
                workers = id;
                return awaitJob(t.tokenA(), jobId.toString(), "succeeded");
              })
              .compose(v -> job(t.tokenA(), jobId.toString()))
              .compose(job -> {
                ctx.verify(() -> assertThat(job.getInteger("attempts")).isEqualTo(2));
                // The dead worker comes back late: its result and its lease are both refused.
                return JobStore.finish(services.pool(), jobId, 1, JobStatus.DEAD, "late", null)
                    .compose(lateWrite -> services.queue().complete(deadLease).map(lateComplete -> List.of(lateWrite, lateComplete)));
              })
              .compose(late -> {
                ctx.verify(() -> assertThat(late).containsExactly(false, false));
                return stack.client.get("/v1/files/" + file.getString("id")).bearerTokenAuthentication(t.tokenA()).send();
              }))
          .map(resp -> {
            ctx.verify(() -> assertThat(resp.bodyAsJsonObject().getString("status")).isEqualTo("processed"));
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  /**
   * Claims until {@code jobId} comes up, handing every other claimed job straight back. The job reaches Redis just
   * after the upload's 201 (the enqueue leaves at the end of the event-loop turn that answered), so an empty queue
   * is asked again for a while before the job counts as never claimable.
   */
  private Future<Lease> claimSpecific(String jobId, Duration lease) {
    return claimSpecific(jobId, lease, System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
  }

  private Future<Lease> claimSpecific(String jobId, Duration lease, long deadline) {
    var queue = stack.app.services().queue();
    return queue.claim(lease).compose(claimed -> {
      if (claimed.isEmpty()) {
        if (System.nanoTime() > deadline) {
          return Future.failedFuture(new AssertionError("job " + jobId + " was never claimable"));
        }
        io.vertx.core.Promise<Void> later = io.vertx.core.Promise.promise();
        stack.vertx.setTimer(20, t -> later.complete());
        return later.future().compose(v -> claimSpecific(jobId, lease, deadline));
      }
      if (claimed.get().jobId().equals(jobId)) {
        return Future.succeededFuture(claimed.get());
      }
      return queue.retryLater(claimed.get(), Duration.ZERO).compose(v -> claimSpecific(jobId, lease, deadline));
    });
  }

  @Test
  void flushedRedisLosesNoJob(VertxTestContext ctx) {
    var services = stack.app.services();
    stack.newTenant().compose(t -> Future.all(
            upload(t.tokenA(), "f1.json", "normal"), upload(t.tokenA(), "f2.json", "high"), upload(t.tokenA(), "f3.json", "low"))
        .compose(all -> services.redis().flushall(List.of()).map(all.<JsonObject>list()))
        .compose(files -> stack.startWorkers(2).compose(id -> {
          workers = id;
          Future<Void> chain = Future.succeededFuture();
          for (JsonObject f : files) {
            chain = chain.compose(v -> awaitJob(t.tokenA(), f.getString("job_id"), "succeeded"));
          }
          return chain;
        })))
        .onComplete(ctx.succeedingThenComplete());
  }
}
