package dev.wharf.gateway.uploads;

import dev.wharf.gateway.TestStack;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** Raw tus over the JDK's HttpClient, with the helpers the resumable-upload tests share. */
final class TusTesting {

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private final TestStack stack;
  final String base;

  TusTesting(TestStack stack, int port) {
    this.stack = stack;
    this.base = "http://127.0.0.1:" + port;
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  HttpRequest.Builder tus(String path, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).header("Tus-Resumable", "1.0.0");
    return token == null ? b : b.header("Authorization", "Bearer " + token);
  }

  static HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** Creates an upload of {@code length} bytes; answers the response (Location is the upload URL). */
  HttpResponse<String> create(String token, long length, String filename, String sha256) throws Exception {
    StringBuilder meta = new StringBuilder("filename " + b64(filename) + ",filetype " + b64("application/octet-stream"));
    if (sha256 != null) {
      meta.append(",sha256 ").append(b64(sha256));
    }
    return send(tus("/v1/tus", token).header("Upload-Length", Long.toString(length)).header("Upload-Metadata", meta.toString())
        .POST(HttpRequest.BodyPublishers.noBody()).build());
  }

  /** Creates an upload and answers its file id. */
  UUID created(String token, long length, String filename, String sha256) throws Exception {
    HttpResponse<String> resp = create(token, length, filename, sha256);
    if (resp.statusCode() != 201) {
      throw new AssertionError("create answered " + resp.statusCode() + ": " + resp.body());
    }
    String location = resp.headers().firstValue("Location").orElseThrow();
    return UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
  }

  HttpResponse<String> patch(String token, UUID id, long offset, byte[] bytes, int from, int to, String checksum) throws Exception {
    HttpRequest.Builder b = tus("/v1/tus/" + id, token)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", Long.toString(offset))
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from));
    if (checksum != null) {
      b.header("Upload-Checksum", checksum);
    }
    return send(b.build());
  }

  HttpResponse<String> head(String token, UUID id) throws Exception {
    return send(tus("/v1/tus/" + id, token).method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
  }

  long offset(String token, UUID id) throws Exception {
    HttpResponse<String> head = head(token, id);
    if (head.statusCode() != 200) {
      throw new AssertionError("HEAD answered " + head.statusCode());
    }
    return Long.parseLong(head.headers().firstValue("Upload-Offset").orElseThrow());
  }

  JsonObject file(String token, UUID id) throws Exception {
    HttpResponse<String> resp = send(HttpRequest.newBuilder(URI.create(base + "/v1/files/" + id)).header("Authorization", "Bearer " + token).GET().build());
    return resp.statusCode() == 200 ? new JsonObject(resp.body()) : new JsonObject().put("http_status", resp.statusCode());
  }

  /** Polls until ingest has decided on the file. */
  JsonObject awaitVerdict(String token, UUID id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
    while (true) {
      JsonObject file = file(token, id);
      String status = file.getString("status");
      if ("processed".equals(status) || "failed".equals(status)) {
        return file;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("file not verified in time: " + file);
      }
      waitAMoment();
    }
  }

  byte[] download(String token, UUID id) throws Exception {
    HttpResponse<byte[]> resp = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/" + id + "/content"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    if (resp.statusCode() != 200) {
      throw new AssertionError("download answered " + resp.statusCode());
    }
    return resp.body();
  }

  /** Waits (bounded) until no request holds the session's lease, i.e. an interrupted chunk was settled. */
  void awaitLeaseFree(UUID id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      Boolean free = await(stack.app.services().pool().preparedQuery("SELECT lease_owner IS NULL AS free FROM upload_sessions WHERE file_id = $1")
          .execute(Tuple.of(id)).map(rows -> rows.rowCount() == 0 || rows.iterator().next().getBoolean("free")));
      if (free) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the upload's lease was never released");
      }
      waitAMoment();
    }
  }

  /** Waits until a request holds the session's lease. */
  void awaitLeased(UUID id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      Boolean held = await(stack.app.services().pool().preparedQuery("SELECT lease_owner IS NOT NULL AS held FROM upload_sessions WHERE file_id = $1")
          .execute(Tuple.of(id)).map(rows -> rows.rowCount() == 1 && rows.iterator().next().getBoolean("held")));
      if (held) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no request took the upload's lease");
      }
      waitAMoment();
    }
  }

  /** A short pause between polls: waits on a timer of the stack's Vert.x, not a sleep of this thread's own choosing. */
  void waitAMoment() throws Exception {
    io.vertx.core.Promise<Void> tick = io.vertx.core.Promise.promise();
    stack.vertx.setTimer(50, id -> tick.complete());
    await(tick.future());
  }

  /**
   * Starts a PATCH over a raw socket and sends only the first {@code sent} bytes of a {@code bytes.length}
   * body: a link that breaks mid-chunk. The socket is returned open; close it to break the link.
   */
  Socket partialPatch(String token, UUID id, long offset, byte[] bytes, int sent, int port) throws IOException {
    Socket socket = new Socket("127.0.0.1", port);
    OutputStream out = socket.getOutputStream();
    String head = "PATCH /v1/tus/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
        + "\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: " + offset
        + "\r\nContent-Length: " + bytes.length + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(bytes, 0, sent);
    out.flush();
    return socket;
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  static String sha256(byte[] b, int from, int to) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update(b, from, to - from);
    return HexFormat.of().formatHex(d.digest());
  }

  static String sha256(byte[] b) throws Exception {
    return sha256(b, 0, b.length);
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
