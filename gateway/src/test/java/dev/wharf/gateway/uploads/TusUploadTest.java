package dev.wharf.gateway.uploads;

import static dev.wharf.gateway.uploads.TusTesting.await;
import static dev.wharf.gateway.uploads.TusTesting.b64;
import static dev.wharf.gateway.uploads.TusTesting.random;
import static dev.wharf.gateway.uploads.TusTesting.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.uploads.UploadSweeper;
import io.tus.java.client.TusClient;
import io.tus.java.client.TusURLMemoryStore;
import io.tus.java.client.TusUpload;
import io.tus.java.client.TusUploader;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * tus 1.0.0 at /v1/tus, end to end on the real servers: a stock tus client (tus-java-client), and raw
 * HTTP for the protocol's edges (offsets, checksums, limits, termination, a link that breaks mid-chunk).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TusUploadTest extends WithWorkers {

  private static TusClient client(String token) throws Exception {
    TusClient client = new TusClient();
    client.setUploadCreationURL(new URL(http.base + "/v1/tus"));
    client.setHeaders(Map.of("Authorization", "Bearer " + token));
    return client;
  }

  private static TusUpload upload(byte[] bytes, String filename, String fingerprint) throws Exception {
    TusUpload upload = new TusUpload();
    upload.setInputStream(new ByteArrayInputStream(bytes));
    upload.setSize(bytes.length);
    upload.setFingerprint(fingerprint);
    upload.setMetadata(Map.of("filename", filename, "filetype", "application/octet-stream", "sha256", sha256(bytes)));
    return upload;
  }

  private static UUID idOf(URL url) {
    String path = url.getPath();
    return UUID.fromString(path.substring(path.lastIndexOf('/') + 1));
  }

  @Test
  void stockTusClientUploadsAFileThatIngestProcesses() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(13 * MIB + 777, 1);
    TusClient client = client(t.tokenA());
    TusUploader uploader = client.createUpload(upload(bytes, "telemetry.bin", "f1"));
    uploader.setChunkSize(64 * 1024);
    // 3 MiB per PATCH against 5 MiB parts: most chunks end inside a part, so the pending tail is used.
    uploader.setRequestPayloadSize(3 * MIB);
    while (uploader.uploadChunk() > -1) {
      // keep going
    }
    uploader.finish();
    UUID id = idOf(uploader.getUploadURL());

    JsonObject file = http.awaitVerdict(t.tokenA(), id);
    assertThat(file.getString("status")).as(file.encode()).isEqualTo("processed");
    assertThat(file.getLong("size")).isEqualTo(bytes.length);
    assertThat(file.getString("sha256")).isEqualTo(sha256(bytes));
    assertThat(file.getString("filename")).isEqualTo("telemetry.bin");
    assertThat(sha256(http.download(t.tokenA(), id))).isEqualTo(sha256(bytes));
    assertThat(await(stack.openMultipartUploads(t.id()))).isZero();

    // The audit trail tells the session's story, in order.
    HttpResponse<String> events = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/files/" + id + "/events"))
        .header("Authorization", "Bearer " + t.tokenA()).GET().build());
    assertThat(events.statusCode()).isEqualTo(200);
    List<String> names = new JsonObject(events.body()).getJsonArray("items").stream()
        .map(e -> ((JsonObject) e).getString("event")).toList();
    assertThat(names.get(0)).isEqualTo("created");
    assertThat(names).contains("chunk_committed");
    assertThat(names.get(names.size() - 1)).isEqualTo("completed");
    // Another tenant's reader cannot see it.
    Tenant other = await(stack.newTenant());
    HttpResponse<String> foreign = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/files/" + id + "/events"))
        .header("Authorization", "Bearer " + other.senderToken()).GET().build());
    assertThat(foreign.statusCode()).isEqualTo(404);
  }

  @Test
  void brokenLinkMidChunkResumesWhereTheServerStandsWithAStockClient() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(12 * MIB + 5, 2);
    UUID id = http.created(t.tokenA(), bytes.length, "log.bin", sha256(bytes));
    int sent = 7 * MIB + 123;
    try (Socket socket = http.partialPatch(t.tokenA(), id, 0, bytes, sent, stack.port)) {
      http.awaitLeased(id);
    }
    http.awaitLeaseFree(id);
    // What arrived before the link broke is durable: one full part and the rest as the pending tail.
    assertThat(http.offset(t.tokenA(), id)).isEqualTo(sent);

    // A stock client that remembers the URL resumes from the server's offset.
    TusClient client = client(t.tokenA());
    TusURLMemoryStore store = new TusURLMemoryStore();
    store.set("log-fingerprint", new URL(http.base + "/v1/tus/" + id));
    client.enableResuming(store);
    TusUpload upload = upload(bytes, "log.bin", "log-fingerprint");
    TusUploader uploader = client.resumeUpload(upload);
    assertThat(uploader.getOffset()).isEqualTo(sent);
    while (uploader.uploadChunk() > -1) {
      // keep going
    }
    uploader.finish();
    JsonObject file = http.awaitVerdict(t.tokenA(), id);
    assertThat(file.getString("status")).isEqualTo("processed");
    assertThat(file.getString("sha256")).isEqualTo(sha256(bytes));
    assertThat(sha256(http.download(t.tokenA(), id))).isEqualTo(sha256(bytes));
  }

  @Test
  void wrongOffsetIsAConflictAndChangesNothing() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(1000, 3);
    UUID id = http.created(t.tokenA(), bytes.length, "a.bin", null);
    assertThat(http.patch(t.tokenA(), id, 0, bytes, 0, 400, null).statusCode()).isEqualTo(204);
    HttpResponse<String> wrong = http.patch(t.tokenA(), id, 0, bytes, 0, 400, null);
    assertThat(wrong.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(wrong.body()).getString("code")).isEqualTo("offset_mismatch");
    assertThat(wrong.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(http.offset(t.tokenA(), id)).isEqualTo(400);
    HttpResponse<String> done = http.patch(t.tokenA(), id, 400, bytes, 400, 1000, null);
    assertThat(done.statusCode()).isEqualTo(204);
    assertThat(done.headers().firstValue("Upload-Offset")).hasValue("1000");
    assertThat(http.file(t.tokenA(), id).getString("sha256")).isEqualTo(sha256(bytes));
  }

  @Test
  void chunkChecksumMismatchIs460AndTheChunkIsDiscarded() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(6 * MIB, 4);
    UUID id = http.created(t.tokenA(), bytes.length, "c.bin", null);
    String good = "sha256 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(java.util.Arrays.copyOfRange(bytes, 0, MIB)));
    assertThat(http.patch(t.tokenA(), id, 0, bytes, 0, MIB, good).statusCode()).isEqualTo(204);
    // A chunk that crosses a part boundary, with a wrong checksum: nothing of it counts.
    String bad = "sha1 " + Base64.getEncoder().encodeToString(new byte[20]);
    HttpResponse<String> refused = http.patch(t.tokenA(), id, MIB, bytes, MIB, bytes.length, bad);
    assertThat(refused.statusCode()).isEqualTo(460);
    assertThat(new JsonObject(refused.body()).getString("code")).isEqualTo("checksum_mismatch");
    assertThat(http.offset(t.tokenA(), id)).isEqualTo(MIB);
    String sha1 = "sha1 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(java.util.Arrays.copyOfRange(bytes, MIB, bytes.length)));
    assertThat(http.patch(t.tokenA(), id, MIB, bytes, MIB, bytes.length, sha1).statusCode()).isEqualTo(204);
    assertThat(http.awaitVerdict(t.tokenA(), id).getString("sha256")).isEqualTo(sha256(bytes));
    assertThat(sha256(http.download(t.tokenA(), id))).isEqualTo(sha256(bytes));
  }

  @Test
  void oversizeIsRefusedBeforeAndDuringTheUpload() throws Exception {
    Tenant t = await(stack.newTenant());
    HttpResponse<String> tooBig = http.create(t.tokenA(), 65L * MIB, "big.bin", null);
    assertThat(tooBig.statusCode()).isEqualTo(413);
    byte[] bytes = random(2000, 5);
    UUID id = http.created(t.tokenA(), 1000, "small.bin", null);
    HttpResponse<String> past = http.patch(t.tokenA(), id, 0, bytes, 0, 2000, null);
    assertThat(past.statusCode()).isEqualTo(413);
    http.awaitLeaseFree(id);
    assertThat(http.offset(t.tokenA(), id)).isZero();
  }

  @Test
  void wholeFileChecksumMismatchIs422AndLeavesNothing() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(6 * MIB, 6);
    UUID id = http.created(t.tokenA(), bytes.length, "x.bin", "0".repeat(64));
    HttpResponse<String> last = http.patch(t.tokenA(), id, 0, bytes, 0, bytes.length, null);
    assertThat(last.statusCode()).isEqualTo(422);
    assertThat(new JsonObject(last.body()).getString("code")).isEqualTo("checksum_mismatch");
    assertThat(http.file(t.tokenA(), id).getInteger("http_status")).isEqualTo(404);
    assertThat(http.head(t.tokenA(), id).statusCode()).isEqualTo(404);
    stack.eventually(Duration.ofSeconds(20), () -> stack.objectKeys(t.id()).compose(keys -> stack.openMultipartUploads(t.id())
        .map(open -> keys.isEmpty() && open == 0))).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void terminationAbortsTheMultipartUploadAndForgetsTheUpload() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(6 * MIB, 7);
    UUID id = http.created(t.tokenA(), 20L * MIB, "t.bin", null);
    assertThat(http.patch(t.tokenA(), id, 0, bytes, 0, bytes.length, null).statusCode()).isEqualTo(204);
    assertThat(await(stack.openMultipartUploads(t.id()))).isEqualTo(1);
    // The file cannot be deleted from under its upload: that would strand the multipart upload and tail.
    HttpResponse<String> fileDelete = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/files/" + id))
        .header("Authorization", "Bearer " + t.tokenA()).DELETE().build());
    assertThat(fileDelete.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(fileDelete.body()).getString("code")).isEqualTo("upload_in_progress");
    HttpResponse<String> deleted = TusTesting.send(http.tus("/v1/tus/" + id, t.tokenA()).DELETE().build());
    assertThat(deleted.statusCode()).isEqualTo(204);
    assertThat(http.head(t.tokenA(), id).statusCode()).isEqualTo(404);
    assertThat(await(stack.openMultipartUploads(t.id()))).isZero();
    assertThat(await(stack.objectKeys(t.id()))).isEmpty();
    assertThat(TusTesting.send(http.tus("/v1/tus/" + id, t.tokenA()).DELETE().build()).statusCode()).isEqualTo(404);
  }

  @Test
  void anotherDevicesUploadIsNotFoundAndBadRequestsChangeNothing() throws Exception {
    Tenant t = await(stack.newTenant());
    Tenant other = await(stack.newTenant());
    byte[] bytes = random(100, 8);
    UUID id = http.created(t.tokenA(), bytes.length, "mine.bin", null);
    for (String token : List.of(t.tokenB(), other.tokenA())) {
      assertThat(http.head(token, id).statusCode()).isEqualTo(404);
      assertThat(http.patch(token, id, 0, bytes, 0, 100, null).statusCode()).isEqualTo(404);
      assertThat(TusTesting.send(http.tus("/v1/tus/" + id, token).DELETE().build()).statusCode()).isEqualTo(404);
    }
    assertThat(http.head(null, id).statusCode()).isEqualTo(401);
    HttpResponse<String> oldVersion = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/tus/" + id))
        .header("Authorization", "Bearer " + t.tokenA()).header("Tus-Resumable", "0.2.2").method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
    assertThat(oldVersion.statusCode()).isEqualTo(412);
    HttpResponse<String> noLength = TusTesting.send(http.tus("/v1/tus", t.tokenA()).POST(HttpRequest.BodyPublishers.noBody()).build());
    assertThat(noLength.statusCode()).isEqualTo(400);
    HttpResponse<String> badMeta = TusTesting.send(http.tus("/v1/tus", t.tokenA()).header("Upload-Length", "5")
        .header("Upload-Metadata", "filename !!notbase64!!").POST(HttpRequest.BodyPublishers.noBody()).build());
    assertThat(new JsonObject(badMeta.body()).getString("code")).isEqualTo("invalid_metadata");
    HttpResponse<String> wrongType = TusTesting.send(http.tus("/v1/tus/" + id, t.tokenA()).header("Upload-Offset", "0")
        .header("Content-Type", "text/plain").method("PATCH", HttpRequest.BodyPublishers.ofString("hello")).build());
    assertThat(wrongType.statusCode()).isEqualTo(415);
    HttpResponse<String> malformedId = http.head(t.tokenA(), null);
    assertThat(malformedId.statusCode()).isIn(404, 400);
    assertThat(http.offset(t.tokenA(), id)).isZero();

    HttpResponse<String> options = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/tus"))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
    assertThat(options.statusCode()).isEqualTo(204);
    assertThat(options.headers().firstValue("Tus-Extension").orElse("")).contains("creation", "termination", "checksum", "expiration");
    assertThat(options.headers().firstValue("Tus-Max-Size")).hasValue(Long.toString(64L * MIB));
  }

  @Test
  void aSecondPatchWhileOneRunsIsAConflict() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(3 * MIB, 9);
    UUID id = http.created(t.tokenA(), bytes.length, "race.bin", null);
    try (Socket slow = http.partialPatch(t.tokenA(), id, 0, bytes, MIB, stack.port)) {
      http.awaitLeased(id);
      HttpResponse<String> second = http.patch(t.tokenA(), id, 0, bytes, 0, bytes.length, null);
      assertThat(second.statusCode()).isEqualTo(409);
      assertThat(new JsonObject(second.body()).getString("code")).isEqualTo("upload_locked");
      assertThat(second.headers().firstValue("Retry-After")).isPresent();
    }
    http.awaitLeaseFree(id);
    long offset = http.offset(t.tokenA(), id);
    assertThat(offset).isEqualTo(MIB);
    assertThat(http.patch(t.tokenA(), id, offset, bytes, (int) offset, bytes.length, null).statusCode()).isEqualTo(204);
    assertThat(http.file(t.tokenA(), id).getString("sha256")).isEqualTo(sha256(bytes));
  }

  @Test
  void deferredLengthCreationWithUploadAndEmptyFiles() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(5000, 10);
    HttpResponse<String> created = TusTesting.send(http.tus("/v1/tus", t.tokenA()).header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", "filename " + b64("deferred.bin"))
        .header("Content-Type", "application/offset+octet-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(bytes, 0, 3000)).build());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    assertThat(created.headers().firstValue("Upload-Offset")).hasValue("3000");
    String location = created.headers().firstValue("Location").orElseThrow();
    UUID id = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
    assertThat(http.head(t.tokenA(), id).headers().firstValue("Upload-Defer-Length")).hasValue("1");
    HttpResponse<String> last = TusTesting.send(http.tus(location, t.tokenA()).header("Upload-Offset", "3000").header("Upload-Length", "5000")
        .header("Content-Type", "application/offset+octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes, 3000, 2000)).build());
    assertThat(last.statusCode()).isEqualTo(204);
    JsonObject file = http.file(t.tokenA(), id);
    assertThat(file.getLong("size")).isEqualTo(5000);
    assertThat(file.getString("sha256")).isEqualTo(sha256(bytes));

    UUID empty = http.created(t.tokenA(), 0, "empty.txt", null);
    JsonObject emptyFile = http.file(t.tokenA(), empty);
    assertThat(emptyFile.getLong("size")).isZero();
    assertThat(emptyFile.getString("sha256")).isEqualTo(sha256(new byte[0]));
    assertThat(http.offset(t.tokenA(), empty)).isZero();
  }

  @Test
  void anExpiredSessionIsSweptAndItsMultipartUploadAborted() throws Exception {
    Tenant t = await(stack.newTenant());
    byte[] bytes = random(6 * MIB, 11);
    UUID id = http.created(t.tokenA(), 30L * MIB, "idle.bin", null);
    assertThat(http.patch(t.tokenA(), id, 0, bytes, 0, bytes.length, null).statusCode()).isEqualTo(204);
    assertThat(await(stack.openMultipartUploads(t.id()))).isEqualTo(1);
    assertThat(await(stack.objectKeys(t.id()))).contains("t/" + t.id() + "/files/" + id + ".tail");
    await(stack.app.services().pool().preparedQuery("UPDATE upload_sessions SET expires_at = now() - interval '1 second' WHERE file_id = $1")
        .execute(Tuple.of(id)));
    UploadSweeper sweeper = new UploadSweeper(stack.app.services().uploadSessions(), Duration.ofHours(1));
    await(stack.eventually(Duration.ofSeconds(20), () -> sweeper.runOnce().compose(swept -> stack.openMultipartUploads(t.id()))
        .map(open -> open == 0)));
    assertThat(http.head(t.tokenA(), id).statusCode()).isEqualTo(404);
    assertThat(await(stack.objectKeys(t.id()))).isEmpty();
    JsonArray events = new JsonObject(TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/files/" + id + "/events"))
        .header("Authorization", "Bearer " + t.senderToken()).GET().build()).body()).getJsonArray("items");
    assertThat(events.getJsonObject(events.size() - 1).getString("event")).isEqualTo("expired");
  }

  @Test
  void aSlowStreamedUploadOutlivesTheStaleWindow() throws Exception {
    Tenant t = await(stack.newTenant());
    // About 4.5 s of trickle against a 3 s stale window and a sweeper every 500 ms: only the heartbeat of a
    // live stream keeps its row.
    int chunks = 45;
    byte[] chunk = random(32 * 1024, 12);
    MessageDigest whole = MessageDigest.getInstance("SHA-256");
    for (int i = 0; i < chunks; i++) {
      whole.update(chunk);
    }
    java.util.concurrent.Flow.Publisher<java.nio.ByteBuffer> slow = subscriber -> subscriber.onSubscribe(new Trickle(subscriber, chunk, chunks));
    HttpResponse<String> resp = TusTesting.send(HttpRequest.newBuilder(URI.create(http.base + "/v1/files"))
        .header("Authorization", "Bearer " + t.tokenA()).header("X-Wharf-Filename", "slow.bin")
        .POST(HttpRequest.BodyPublishers.fromPublisher(slow, (long) chunks * chunk.length)).build());
    assertThat(resp.statusCode()).as(resp.body()).isEqualTo(201);
    assertThat(new JsonObject(resp.body()).getString("sha256")).isEqualTo(java.util.HexFormat.of().formatHex(whole.digest()));
  }

  /** A body that sends one chunk every 100 ms (on a Vert.x timer), as a device on a slow link would. */
  private static final class Trickle implements java.util.concurrent.Flow.Subscription {
    private final java.util.concurrent.Flow.Subscriber<? super java.nio.ByteBuffer> subscriber;
    private final byte[] chunk;
    private final int chunks;
    private long demand;
    private int sent;
    private boolean scheduled;
    private boolean cancelled;

    Trickle(java.util.concurrent.Flow.Subscriber<? super java.nio.ByteBuffer> subscriber, byte[] chunk, int chunks) {
      this.subscriber = subscriber;
      this.chunk = chunk;
      this.chunks = chunks;
    }

    @Override
    public synchronized void request(long n) {
      demand += n;
      schedule();
    }

    private synchronized void schedule() {
      if (!scheduled && !cancelled && demand > 0 && sent < chunks) {
        scheduled = true;
        stack.vertx.setTimer(100, id -> deliver());
      }
    }

    private void deliver() {
      synchronized (this) {
        scheduled = false;
        demand--;
        sent++;
      }
      subscriber.onNext(java.nio.ByteBuffer.wrap(chunk));
      if (sent == chunks) {
        subscriber.onComplete();
      } else {
        schedule();
      }
    }

    @Override
    public synchronized void cancel() {
      cancelled = true;
    }
  }
}
