package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The gateway under test: {@code java -Xmx… -jar wharf.jar serve} as a child process, configured only through
 * {@code WHARF_*} variables to use the embedded servers, with no ingest workers (verification would compete
 * for the two cores). Its output goes to a log file; it is stopped with SIGTERM (graceful), then killed.
 */
final class GatewayProcess implements AutoCloseable {

  static final String ADMIN_TOKEN = "bench-admin-token-0123456789";

  private final Process process;
  private final URI base;
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private String tenant;
  private String deviceToken;

  private GatewayProcess(Process process, int port) {
    this.process = process;
    this.base = URI.create("http://127.0.0.1:" + port);
  }

  /** Starts the gateway and waits (at most 90 s) until {@code /readyz} says ready. */
  static GatewayProcess start(Path jar, String maxHeap, EmbeddedServers servers, Map<String, String> settings, Path log)
      throws IOException, InterruptedException {
    return start(jar, maxHeap, servers, settings, log, List.of());
  }

  /** As above, with {@code jvmArgs} before {@code -jar} (a JFR recording, for instance). */
  static GatewayProcess start(Path jar, String maxHeap, EmbeddedServers servers, Map<String, String> settings, Path log,
      List<String> jvmArgs) throws IOException, InterruptedException {
    if (!Files.isRegularFile(jar)) {
      throw new IOException("gateway jar not found at " + jar + " (build it: ./mvnw -q -B -Pbench -DskipTests package)");
    }
    int port = freePort();
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx" + maxHeap));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", jar.toString(), "serve"));
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(name -> name.startsWith("WHARF_"));
    env.put("WHARF_ADMIN_TOKEN", ADMIN_TOKEN);
    env.put("WHARF_HTTP_HOST", "127.0.0.1");
    env.put("WHARF_HTTP_PORT", Integer.toString(port));
    env.putAll(servers.wharfEnvironment());
    env.put("WHARF_INGEST_WORKERS", "0");
    env.putAll(settings);
    GatewayProcess gateway = new GatewayProcess(builder.start(), port);
    try {
      gateway.awaitReady(Duration.ofSeconds(90), log);
      return gateway;
    } catch (IOException | InterruptedException | RuntimeException e) {
      gateway.close();
      throw e;
    }
  }

  private void awaitReady(Duration timeout, Path log) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("gateway exited with " + process.exitValue() + " before it was ready; see " + log);
      }
      try {
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(base.resolve("/readyz")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (ready.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      TimeUnit.MILLISECONDS.sleep(200);
    }
    throw new IOException("gateway not ready within " + timeout.toSeconds() + " s; see " + log);
  }

  /** Creates a tenant and a device through the admin API and keeps the device's token for uploads. */
  void createDevice() throws IOException, InterruptedException {
    tenant = "bench-" + UUID.randomUUID().toString().substring(0, 8);
    admin("/v1/admin/tenants", new JsonObject().put("id", tenant));
    JsonObject device = admin("/v1/admin/tenants/" + tenant + "/devices", new JsonObject().put("id", "bench-device"));
    deviceToken = device.getJsonObject("token").getString("token");
  }

  /** Creates a tenant through the admin API and answers its id. */
  String createTenant(String id) throws IOException, InterruptedException {
    return admin("/v1/admin/tenants", new JsonObject().put("id", id)).getString("id");
  }

  /** Creates a device of {@code tenant} through the admin API and answers the device token issued with it. */
  String createDevice(String tenant, String id) throws IOException, InterruptedException {
    return admin("/v1/admin/tenants/" + tenant + "/devices", new JsonObject().put("id", id)).getJsonObject("token").getString("token");
  }

  /** Issues a sender token of {@code tenant} with these scopes and answers its secret. */
  String issueSenderToken(String tenant, String... scopes) throws IOException, InterruptedException {
    return admin("/v1/admin/tenants/" + tenant + "/tokens",
        new JsonObject().put("scopes", new JsonArray(List.of((Object[]) scopes)))).getString("token");
  }

  private JsonObject admin(String path, JsonObject body) throws IOException, InterruptedException {
    HttpResponse<String> reply = http.send(HttpRequest.newBuilder(base.resolve(path))
            .header("Authorization", "Bearer " + ADMIN_TOKEN)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.encode()))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    if (reply.statusCode() != 201) {
      throw new IOException("POST " + path + " answered " + reply.statusCode() + ": " + reply.body());
    }
    return new JsonObject(reply.body());
  }

  /**
   * {@code POST /v1/files} of the first {@code size} generated bytes, streamed with a Content-Length. Returns
   * the 201 reply's body; anything else is an exception.
   */
  JsonObject upload(GeneratedBytes bytes, long size, String filename) throws IOException, InterruptedException {
    HttpResponse<String> reply = http.send(HttpRequest.newBuilder(base.resolve("/v1/files"))
            .header("Authorization", "Bearer " + deviceToken)
            .header("X-Wharf-Filename", filename)
            .header("Content-Type", "application/octet-stream")
            .timeout(Duration.ofMinutes(10))
            .POST(HttpRequest.BodyPublishers.fromPublisher(bytes.publisher(size), size))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    if (reply.statusCode() != 201) {
      throw new IOException("upload of " + size + " bytes answered " + reply.statusCode() + ": " + reply.body());
    }
    return new JsonObject(reply.body());
  }

  /**
   * A tus upload of the first {@code size} generated bytes: {@code POST /v1/tus} with the whole-file SHA-256,
   * then PATCHes of {@code chunk} bytes (a multiple of {@link GeneratedBytes#BLOCK}, so every chunk starts on
   * the block and the publisher's bytes are the file's). Returns the file as {@code GET /v1/files/{id}} shows it.
   */
  JsonObject tusUpload(GeneratedBytes bytes, long size, long chunk, String sha256, String filename) throws IOException, InterruptedException {
    String meta = "filename " + java.util.Base64.getEncoder().encodeToString(filename.getBytes(java.nio.charset.StandardCharsets.UTF_8))
        + ",sha256 " + java.util.Base64.getEncoder().encodeToString(sha256.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    HttpResponse<String> created = http.send(HttpRequest.newBuilder(base.resolve("/v1/tus"))
            .header("Authorization", "Bearer " + deviceToken).header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", Long.toString(size)).header("Upload-Metadata", meta)
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (created.statusCode() != 201) {
      throw new IOException("tus create answered " + created.statusCode() + ": " + created.body());
    }
    URI upload = base.resolve(created.headers().firstValue("Location").orElseThrow());
    for (long offset = 0; offset < size; offset += chunk) {
      long length = Math.min(chunk, size - offset);
      HttpResponse<String> patched = http.send(HttpRequest.newBuilder(upload)
              .header("Authorization", "Bearer " + deviceToken).header("Tus-Resumable", "1.0.0")
              .header("Upload-Offset", Long.toString(offset)).header("Content-Type", "application/offset+octet-stream")
              .timeout(Duration.ofMinutes(5))
              .method("PATCH", HttpRequest.BodyPublishers.fromPublisher(bytes.publisher(length), length)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (patched.statusCode() != 204) {
        throw new IOException("tus PATCH at " + offset + " answered " + patched.statusCode() + ": " + patched.body());
      }
    }
    String path = upload.getPath();
    HttpResponse<String> file = http.send(HttpRequest.newBuilder(base.resolve("/v1/files/" + path.substring(path.lastIndexOf('/') + 1)))
        .header("Authorization", "Bearer " + deviceToken).build(), HttpResponse.BodyHandlers.ofString());
    if (file.statusCode() != 200) {
      throw new IOException("GET of the uploaded file answered " + file.statusCode());
    }
    return new JsonObject(file.body());
  }

  /** The bench device's token (after {@link #createDevice()}). */
  String deviceToken() {
    return deviceToken;
  }

  /** Where the gateway stores a file of the bench device (FileService's key layout), to delete it after a run. */
  String objectKey(String fileId) {
    return "t/" + tenant + "/files/" + fileId;
  }

  /** The gateway's {@code /metrics} in Prometheus text. */
  String metrics() throws IOException, InterruptedException {
    HttpResponse<String> reply = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (reply.statusCode() != 200) {
      throw new IOException("/metrics answered " + reply.statusCode());
    }
    return reply.body();
  }

  /** Where the gateway listens, {@code http://127.0.0.1:PORT}. */
  URI base() {
    return base;
  }

  /**
   * The value of an unlabelled sample of {@code /metrics} (e.g. {@code wharf_inbox_polls_held}), or NaN when the
   * page has none.
   */
  double metric(String name) throws IOException, InterruptedException {
    return metric(metrics(), name);
  }

  static double metric(String prometheusText, String name) {
    for (String line : prometheusText.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Double.NaN;
  }

  long pid() {
    return process.pid();
  }

  /** The gateway's HTTP base, {@code http://127.0.0.1:PORT}. */
  URI baseUri() {
    return base;
  }

  /** Asks the JVM for a full GC ({@code jcmd PID GC.run}); false when jcmd is missing or fails. */
  boolean requestGc() {
    try {
      Process jcmd = new ProcessBuilder("jcmd", Long.toString(pid()), "GC.run").redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return jcmd.waitFor(20, TimeUnit.SECONDS) && jcmd.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A line of {@code /proc/PID/status} in KiB ({@code VmRSS}, {@code VmHWM}), or -1 where there is none. */
  long procStatusKiB(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** CPU time (user + system) the gateway process has used so far, in seconds; -1 where /proc has none. */
  double cpuSeconds() {
    return ProcessCpu.of(pid());
  }

  /** The kernel's part of {@link #cpuSeconds()}. */
  double systemCpuSeconds() {
    return ProcessCpu.systemOf(pid());
  }

  /** SIGTERM, a graceful stop of at most 20 s, then SIGKILL. Idempotent. */
  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
