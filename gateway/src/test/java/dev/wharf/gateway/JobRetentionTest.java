package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.ingest.Reconciler;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Finished ingest jobs are deleted after ingest.retention; queued ones and recent ones stay. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class JobRetentionTest {

  private static UUID upload(TestStack stack, Tenant t, String name) throws Exception {
    var resp = await(stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", name)
        .sendBuffer(Buffer.buffer("{}")));
    return UUID.fromString(resp.bodyAsJsonObject().getString("job_id"));
  }

  private static boolean exists(Services s, UUID job) throws Exception {
    return await(s.pool().preparedQuery("SELECT 1 FROM ingest_jobs WHERE id = $1").execute(Tuple.of(job)).map(rows -> rows.rowCount() == 1));
  }

  @Test
  void finishedJobsPastRetentionAreDeletedOthersStay() throws Exception {
    TestStack stack = TestStack.get();
    Services s = stack.app.services();
    Tenant t = await(stack.newTenant());
    UUID old = upload(stack, t, "old.json");
    UUID recent = upload(stack, t, "recent.json");
    UUID queuedButOld = upload(stack, t, "queued.json");
    await(s.pool().preparedQuery("UPDATE ingest_jobs SET status = 'succeeded', finished_at = now() - interval '31 days' WHERE id = $1")
        .execute(Tuple.of(old)));
    await(s.pool().preparedQuery("UPDATE ingest_jobs SET status = 'succeeded', finished_at = now() - interval '1 day' WHERE id = $1")
        .execute(Tuple.of(recent)));
    await(s.pool().preparedQuery("UPDATE ingest_jobs SET created_at = now() - interval '40 days', updated_at = now() - interval '40 days' WHERE id = $1")
        .execute(Tuple.of(queuedButOld)));

    // A pass runs only on the replica holding the reconciler's lock (the stack's own reconciler may hold it),
    // so pass until the old job is gone.
    Reconciler reconciler = new Reconciler(s.pool(), s.queue(), s.config().ingest(), s.metrics());
    await(stack.eventually(java.time.Duration.ofSeconds(20), () -> reconciler.runOnce()
        .compose(v -> s.pool().preparedQuery("SELECT 1 FROM ingest_jobs WHERE id = $1").execute(Tuple.of(old)))
        .map(rows -> rows.rowCount() == 0)));
    assertThat(exists(s, recent)).isTrue();
    assertThat(exists(s, queuedButOld)).isTrue();
  }
}
