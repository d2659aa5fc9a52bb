package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An Idempotency-Key caught by a crash does not answer 409 for a day, and a committed answer is never lost. A
 * first request that outlives its lease cannot commit over the retry that took its key, nor free the retry's claim.
 */
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

  @Test
  void aFirstRequestThatOutlivesItsLeaseCannotCommitOverTheRetry() throws Exception {
    TestStack stack = TestStack.get();
    Tenant t = await(stack.newTenant());
    var pool = stack.app.services().pool();
    try (HeldUpload first = new HeldUpload(stack, t.tokenA(), "slow-1", "first body")) {
      awaitClaimed(stack, t, "slow-1");
      expireLease(stack, t, "slow-1");
      HttpResponse<String> retry = upload(stack, t.tokenA(), "slow-1", "retry body");
      assertThat(retry.statusCode()).as(retry.body()).isEqualTo(201);
      String retried = new JsonObject(retry.body()).getString("id");

      // The first request ends its body now: its commit is refused and rolled back.
      String answer = first.finish();
      assertThat(answer).startsWith("HTTP/1.1 409");
      assertThat(answer).contains("\"code\":\"idempotency_lease_lost\"");

      HttpResponse<String> replay = upload(stack, t.tokenA(), "slow-1", "retry body");
      assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(new JsonObject(replay.body()).getString("id")).isEqualTo(retried);
      var kept = await(pool.preparedQuery("SELECT id::text AS id, status FROM files WHERE tenant_id = $1").execute(Tuple.of(t.id())));
      assertThat(kept.rowCount()).as("only the retry's file is kept").isEqualTo(1);
      assertThat(kept.iterator().next().getString("id")).isEqualTo(retried);
    }
  }

  @Test
  void aFirstRequestThatFailsAfterItsLeaseRanOutLeavesTheRetrysClaimAlone() throws Exception {
    TestStack stack = TestStack.get();
    Tenant t = await(stack.newTenant());
    HeldUpload first = new HeldUpload(stack, t.tokenA(), "slow-2", "first body");
    awaitClaimed(stack, t, "slow-2");
    expireLease(stack, t, "slow-2");
    try (HeldUpload retry = new HeldUpload(stack, t.tokenA(), "slow-2", "retry body")) {
      awaitTakenOver(stack, t, "slow-2");
      // The first request's client hangs up: its upload fails, and releasing its claim must not free the retry's.
      first.close();
      HttpResponse<String> meanwhile = upload(stack, t.tokenA(), "slow-2", "third body");
      assertThat(meanwhile.statusCode()).as("the retry still holds the key: " + meanwhile.body()).isEqualTo(409);
      assertThat(new JsonObject(meanwhile.body()).getString("code")).isEqualTo("idempotency_in_progress");
      String answer = retry.finish();
      assertThat(answer).startsWith("HTTP/1.1 201");
    }
    HttpResponse<String> replay = upload(stack, t.tokenA(), "slow-2", "retry body");
    assertThat(replay.headers().firstValue("Idempotent-Replayed")).as(replay.body()).hasValue("true");
    int files = await(stack.app.services().pool().preparedQuery("SELECT count(*) AS n FROM files WHERE tenant_id = $1 AND status <> 'uploading'")
        .execute(Tuple.of(t.id())).map(rows -> rows.iterator().next().getInteger("n")));
    assertThat(files).isEqualTo(1);
  }

  @Test
  void aStagingThatOutlivesItsLeaseCannotCommitOverTheRetry() throws Exception {
    TestStack stack = TestStack.get();
    Tenant t = await(stack.newTenant());
    try (HeldStaging first = new HeldStaging(stack, t, "slow-3", "first staging")) {
      awaitClaimed(stack, t, "slow-3");
      expireLease(stack, t, "slow-3");
      HttpResponse<String> retry = stage(stack, t, "slow-3", "retry staging");
      assertThat(retry.statusCode()).as(retry.body()).isEqualTo(201);
      String retried = new JsonObject(retry.body()).getJsonArray("items").getJsonObject(0).getString("id");

      String answer = first.finish();
      assertThat(answer).startsWith("HTTP/1.1 409");
      assertThat(answer).contains("\"code\":\"idempotency_lease_lost\"");

      HttpResponse<String> replay = stage(stack, t, "slow-3", "retry staging");
      assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(new JsonObject(replay.body()).getJsonArray("items").getJsonObject(0).getString("id")).isEqualTo(retried);
      var kept = await(stack.app.services().pool().preparedQuery("SELECT id::text AS id FROM deliveries WHERE tenant_id = $1")
          .execute(Tuple.of(t.id())));
      assertThat(kept.rowCount()).as("only the retry's delivery is kept").isEqualTo(1);
      assertThat(kept.iterator().next().getString("id")).isEqualTo(retried);
    }
  }

  private static void awaitClaimed(TestStack stack, Tenant t, String key) throws Exception {
    await(stack.eventually(Duration.ofSeconds(20), () -> stack.app.services().pool()
        .preparedQuery("SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status_code IS NULL").execute(Tuple.of(t.id(), key))
        .map(rows -> rows.rowCount() == 1)));
  }

  private static void awaitTakenOver(TestStack stack, Tenant t, String key) throws Exception {
    await(stack.eventually(Duration.ofSeconds(20), () -> stack.app.services().pool()
        .preparedQuery("SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status_code IS NULL AND lease_until > now()")
        .execute(Tuple.of(t.id(), key)).map(rows -> rows.rowCount() == 1)));
  }

  /** What five minutes of a slow first request do to its lease. */
  private static void expireLease(TestStack stack, Tenant t, String key) throws Exception {
    await(stack.app.services().pool().preparedQuery("UPDATE idempotency_keys SET lease_until = now() - interval '1 second' "
        + "WHERE tenant_id = $1 AND key = $2").execute(Tuple.of(t.id(), key)));
  }

  /**
   * A request whose client sent the head and half the body and waits: it holds its key meanwhile. Over a plain
   * socket, so the test decides when the rest of the body goes.
   */
  private static class HeldRequest implements AutoCloseable {
    private final Socket socket;
    private final byte[] rest;

    HeldRequest(TestStack stack, String head, byte[] body) throws Exception {
      int half = body.length / 2;
      socket = new Socket("127.0.0.1", stack.port);
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write((head + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body, 0, half);
      out.flush();
      rest = java.util.Arrays.copyOfRange(body, half, body.length);
    }

    /** Sends the rest of the body and reads the whole answer (the gateway closes the connection after it). */
    String finish() throws Exception {
      OutputStream out = socket.getOutputStream();
      out.write(rest);
      out.flush();
      InputStream in = socket.getInputStream();
      StringBuilder answer = new StringBuilder();
      byte[] buf = new byte[4096];
      while (!complete(answer)) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        answer.append(new String(buf, 0, n, StandardCharsets.UTF_8));
      }
      return answer.toString();
    }

    /** A head and as many body bytes as its Content-Length says. */
    private static boolean complete(StringBuilder answer) {
      int end = answer.indexOf("\r\n\r\n");
      if (end < 0) {
        return false;
      }
      var length = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(answer.substring(0, end));
      return length.find() && answer.length() - end - 4 >= Integer.parseInt(length.group(1));
    }

    @Override
    public void close() throws Exception {
      socket.close();
    }
  }

  /** {@code POST /v1/files} of {@code body} under {@code key}, held mid-body. */
  private static final class HeldUpload extends HeldRequest {
    HeldUpload(TestStack stack, String token, String key, String body) throws Exception {
      super(stack, "POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\nX-Wharf-Filename: k.txt\r\n"
          + "Idempotency-Key: " + key + "\r\n", body.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** A multipart staging of one file to the tenant's first device under {@code key}, held mid-body. */
  private static final class HeldStaging extends HeldRequest {
    HeldStaging(TestStack stack, Tenant t, String key, String content) throws Exception {
      super(stack, "POST /v1/devices/" + t.deviceA() + "/deliveries HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + t.senderToken() + "\r\nContent-Type: multipart/form-data; boundary=" + BOUNDARY + "\r\nIdempotency-Key: " + key + "\r\n",
          multipart(content));
    }
  }

  private static final String BOUNDARY = "lease-test";

  private static byte[] multipart(String content) {
    return ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.txt\"\r\nContent-Type: text/plain\r\n\r\n"
        + content + "\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8);
  }

  private static HttpResponse<String> stage(TestStack stack, Tenant t, String key, String content) throws Exception {
    return TusTesting.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + stack.port + "/v1/devices/" + t.deviceA() + "/deliveries"))
        .header("Authorization", "Bearer " + t.senderToken()).header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
        .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofByteArray(multipart(content))).build());
  }
}
