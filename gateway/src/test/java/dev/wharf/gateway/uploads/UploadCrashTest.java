package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static dev.wharf.gateway.uploads.TusTesting.random;
import static dev.wharf.gateway.uploads.TusTesting.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The claims about crashes, with a real crash: a gateway in its own JVM is killed with SIGKILL in the
 * middle of an upload, and the test stack's gateway (same PostgreSQL, Redis, S3) takes over.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class UploadCrashTest {

  private static final int MIB = 1 << 20;

  static TestStack stack;
  static TusTesting survivor;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    survivor = new TusTesting(stack, stack.port);
  }

  private static Row sessionRow(UUID id) throws Exception {
    return await(stack.app.services().pool().preparedQuery("SELECT parts_count, parts_bytes, tail_bytes FROM upload_sessions WHERE file_id = $1")
        .execute(Tuple.of(id)).map(rows -> rows.iterator().next()));
  }

  @Test
  void afterTheGatewayIsKilledMidChunkAnotherOneReportsTheDurableOffsetAndFinishesTheUpload() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(20 * MIB + 99, 41);
    try (ChildGateway child = ChildGateway.start(stack)) {
      TusTesting doomed = new TusTesting(stack, child.port);
      UUID id = doomed.created(t.tokenA(), bytes.length, "crash.bin", sha256(bytes));
      // 12 MiB of the body reach the child: two parts commit while the rest streams.
      try (Socket socket = doomed.partialPatch(t.tokenA(), id, 0, bytes, 12 * MIB, child.port)) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (sessionRow(id).getInteger("parts_count") < 2) {
          assertThat(System.nanoTime()).as("two parts committed in time").isLessThan(deadline);
          survivor.waitAMoment();
        }
        child.kill();
      }
      Row durable = sessionRow(id);
      long expected = durable.getLong("parts_bytes") + durable.getInteger("tail_bytes");
      assertThat(expected).isGreaterThanOrEqualTo(2L * 5 * MIB).isLessThanOrEqualTo(12L * MIB);
      // The other gateway answers HEAD with exactly what is durable.
      assertThat(survivor.offset(t.tokenA(), id)).isEqualTo(expected);

      // The dead gateway's lease runs out (3 s in tests); until then a PATCH is told to retry. An empty
      // PATCH probes it without sending a body the server would refuse unread.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      HttpResponse<String> probe;
      while (true) {
        probe = survivor.patch(t.tokenA(), id, expected, bytes, 0, 0, null);
        if (probe.statusCode() != 409 || System.nanoTime() > deadline) {
          break;
        }
        assertThat(new io.vertx.core.json.JsonObject(probe.body()).getString("code")).isEqualTo("upload_locked");
        assertThat(probe.headers().firstValue("Retry-After")).isPresent();
        survivor.waitAMoment();
      }
      assertThat(probe.statusCode()).as(probe.body()).isEqualTo(204);
      assertThat(probe.headers().firstValue("Upload-Offset")).hasValue(Long.toString(expected));
      HttpResponse<String> done = survivor.patch(t.tokenA(), id, expected, bytes, (int) expected, bytes.length, null);
      assertThat(done.statusCode()).as(done.body()).isEqualTo(204);
      assertThat(survivor.file(t.tokenA(), id).getString("sha256")).isEqualTo(sha256(bytes));
      assertThat(await(stack.openMultipartUploads(t.id()))).isZero();
    }
  }

  @Test
  void aChunkedUploadCutByAKilledGatewayLeavesNoOpenMultipartUpload() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(12 * MIB, 42);
    UUID fileId;
    try (ChildGateway child = ChildGateway.start(stack)) {
      try (Socket socket = new Socket("127.0.0.1", child.port)) {
        OutputStream out = socket.getOutputStream();
        // No Content-Length: the length is unknown, so the body goes up as a multipart upload.
        out.write(("POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + t.tokenA()
            + "\r\nX-Wharf-Filename: cut.bin\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        for (int pos = 0; pos < 7 * MIB; pos += MIB) {
          out.write((Integer.toHexString(MIB) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(bytes, pos, MIB);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.flush();
        // The multipart upload is recorded on the row before its first part goes up.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        UUID recorded = null;
        while (recorded == null) {
          assertThat(System.nanoTime()).as("multipart upload recorded in time").isLessThan(deadline);
          recorded = await(stack.app.services().pool().preparedQuery(
                  "SELECT id FROM files WHERE tenant_id = $1 AND multipart_upload_id IS NOT NULL")
              .execute(Tuple.of(t.id())).map(rows -> rows.rowCount() == 0 ? null : rows.iterator().next().getUUID("id")));
          if (recorded == null) {
            survivor.waitAMoment();
          }
        }
        fileId = recorded;
        child.kill();
      }
    }
    assertThat(await(stack.openMultipartUploads(t.id()))).isEqualTo(1);
    // Nobody refreshes the row any more: the sweeper (every 500 ms, 3 s stale window in tests) aborts the
    // multipart upload and removes the row.
    UUID id = fileId;
    await(stack.eventually(Duration.ofSeconds(30), () -> stack.openMultipartUploads(t.id())
        .compose(open -> stack.app.services().pool().preparedQuery("SELECT 1 FROM files WHERE id = $1").execute(Tuple.of(id))
            .map(rows -> open == 0 && rows.rowCount() == 0))));
  }

  @Test
  void aDeclaredUploadStreamedAsOnePutAndCutByAKilledGatewayLeavesNoObject() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(24 * MIB, 43);
    UUID fileId;
    String key;
    try (ChildGateway child = ChildGateway.start(stack)) {
      try (Socket socket = new Socket("127.0.0.1", child.port)) {
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + t.tokenA()
            + "\r\nX-Wharf-Filename: cut.bin\r\nContent-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes, 0, 12 * MIB);
        out.flush();
        // The row exists before a byte is read; 12 MiB sent, more than any buffer on the way holds, so the
        // PUT to storage is under way when the gateway dies.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Row row = null;
        while (row == null) {
          assertThat(System.nanoTime()).as("upload row written in time").isLessThan(deadline);
          row = await(stack.app.services().pool().preparedQuery("SELECT id, object_key, multipart_upload_id FROM files WHERE tenant_id = $1")
              .execute(Tuple.of(t.id())).map(rows -> rows.rowCount() == 0 ? null : rows.iterator().next()));
          if (row == null) {
            survivor.waitAMoment();
          }
        }
        fileId = row.getUUID("id");
        key = row.getString("object_key");
        child.kill();
      }
    }
    assertThat(await(stack.openMultipartUploads(t.id()))).as("a streamed PUT opens no multipart upload").isZero();
    UUID id = fileId;
    await(stack.eventually(Duration.ofSeconds(30), () -> stack.app.services().pool().preparedQuery("SELECT 1 FROM files WHERE id = $1")
        .execute(Tuple.of(id)).map(rows -> rows.rowCount() == 0)));
    // S3 keeps nothing of a single PUT that never received all its bytes.
    boolean absent = await(stack.objectAbsent(key));
    assertThat(absent).as("no object under the cut upload's key").isTrue();
  }
}
