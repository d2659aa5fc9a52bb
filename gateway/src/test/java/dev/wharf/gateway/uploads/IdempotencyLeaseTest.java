package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An Idempotency-Key caught by a crash does not answer 409 for a day, and a committed answer is never lost. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdempotencyLeaseTest {

  private static HttpResponse<String> upload(TestStack stack, String token, String key, String body) throws Exception {
    return TusTesting.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/files"))
        .header("Authorization", "Bearer " + token).header("X-Wharf-Filename", "k.txt").header("Idempotency-Key", key)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  @Test
  void aKeyLeftRunningByADeadGatewayIsTakenOverOnceItsLeaseRunsOut() throws Exception {
    TestStack stack = TestStack.get();
    Tenant t = await(stack.newTenant());
    var pool = stack.app.services().pool();
    // What a gateway killed mid-request leaves: the key claimed, no answer.
    await(pool.preparedQuery("INSERT INTO idempotency_keys (tenant_id, principal, scope, key, lease_until) "
            + "VALUES ($1, $2, 'POST /v1/files', 'crashed-1', now() + interval '1 hour')")
        .execute(Tuple.of(t.id(), "device:" + t.deviceA())));
    HttpResponse<String> whileLeased = upload(stack, t.tokenA(), "crashed-1", "one");
    assertThat(whileLeased.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(whileLeased.body()).getString("code")).isEqualTo("idempotency_in_progress");

    await(pool.preparedQuery("UPDATE idempotency_keys SET lease_until = now() - interval '1 second' WHERE tenant_id = $1 AND key = 'crashed-1'")
        .execute(Tuple.of(t.id())));
    HttpResponse<String> takenOver = upload(stack, t.tokenA(), "crashed-1", "one");
    assertThat(takenOver.statusCode()).as(takenOver.body()).isEqualTo(201);
    String id = new JsonObject(takenOver.body()).getString("id");

    // The answer was stored with the file's commit: a retry replays it, and there is one file.
    HttpResponse<String> replay = upload(stack, t.tokenA(), "crashed-1", "one");
    assertThat(replay.statusCode()).isEqualTo(201);
    assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(new JsonObject(replay.body()).getString("id")).isEqualTo(id);
    int files = await(pool.preparedQuery("SELECT count(*) AS n FROM files WHERE tenant_id = $1").execute(Tuple.of(t.id()))
        .map(rows -> rows.iterator().next().getInteger("n")));
    assertThat(files).isEqualTo(1);
    Object stored = await(pool.preparedQuery("SELECT response FROM idempotency_keys WHERE tenant_id = $1 AND key = 'crashed-1'")
        .execute(Tuple.of(t.id())).map(rows -> rows.iterator().next().getValue("response")));
    assertThat(((JsonObject) stored).getString("job_id")).isNotNull();
  }
}
