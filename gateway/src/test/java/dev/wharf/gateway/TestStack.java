package dev.wharf.gateway;

import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.gateway.config.WharfConfig;
import dev.wharf.ingest.IngestWorker;
import dev.wharf.ingest.validate.ValidationLimits;
import dev.wharf.ingest.validate.Validators;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;

/**
 * One Wharf process per test JVM on the shared embedded servers, with quick ingest timings. It runs no
 * ingest workers of its own, so a test sees jobs stay queued until it starts workers itself (and stops
 * them after). Tests isolate themselves by their own tenant.
 */
public final class TestStack {

  public static final String ADMIN_TOKEN = "test-admin-token-0123456789";

  private static TestStack instance;

  public final Vertx vertx;
  public final EmbeddedServers servers;
  public final WharfApp app;
  public final WebClient client;
  public final int port;
  /** Port of this stack's MQTT endpoint. */
  public final int mqttPort;
  private final S3AsyncClient s3;

  private TestStack(Vertx vertx, EmbeddedServers servers, WharfApp app, int port) {
    this.vertx = vertx;
    this.servers = servers;
    this.app = app;
    this.port = port;
    this.mqttPort = app.mqtt().endpointPort();
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
    this.s3 = S3AsyncClient.builder()
        .httpClientBuilder(software.amazon.awssdk.http.crt.AwsCrtAsyncHttpClient.builder())
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedServers.S3_ACCESS_KEY, EmbeddedServers.S3_SECRET_KEY)))
        .endpointOverride(java.net.URI.create(servers.s3Endpoint()))
        .forcePathStyle(true)
        .build();
  }

  /** The shared stack, started on first use (blocking: call it from a test thread, e.g. in @BeforeAll). */
  public static synchronized TestStack get() throws Exception {
    if (instance == null) {
      EmbeddedServers servers = EmbeddedServers.shared();
      Vertx vertx = Vertx.vertx();
      int port = freePort();
      WharfConfig config = WharfConfig.load(null, env(servers, port, Map.of(
          "WHARF_MQTT_MODE", "endpoint", "WHARF_MQTT_PORT", Integer.toString(freePort()), "WHARF_MQTT_INSTANCES", "2",
          "WHARF_MQTT_MAX_PAYLOAD_BYTES", "4KiB", "WHARF_MQTT_MAX_OPEN_UPLOADS", "3", "WHARF_MQTT_GRANT_TTL", "8s",
          // Tokens stay cached for the whole suite: only revocation notices can make the stack forget one. Empty
          // inboxes are remembered as long as allowed, so a staging that failed to forget one would show.
          "WHARF_AUTH_CACHE_TTL", "10m", "WHARF_DELIVERIES_QUIET_TTL", "5m")));
      WharfApp app = WharfApp.start(vertx, config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      instance = new TestStack(vertx, servers, app, port);
    }
    return instance;
  }

  /** The environment a test Wharf runs with; {@code extra} overrides. */
  public static Map<String, String> env(EmbeddedServers servers, int port, Map<String, String> extra) {
    Map<String, String> env = new HashMap<>();
    env.put("WHARF_ADMIN_TOKEN", ADMIN_TOKEN);
    env.put("WHARF_HTTP_HOST", "127.0.0.1");
    env.put("WHARF_HTTP_PORT", Integer.toString(port));
    env.put("WHARF_HTTP_INSTANCES", "2");
    env.put("WHARF_HTTP_PUBLIC_URL", "http://127.0.0.1:" + port);
    env.put("WHARF_MQTT_MODE", "off");
    env.put("WHARF_MQTT_HOST", "127.0.0.1");
    env.putAll(servers.wharfEnvironment());
    env.put("WHARF_S3_PART_SIZE", "5MiB");
    env.put("WHARF_UPLOADS_MAX_FILE_BYTES", "64MiB");
    env.put("WHARF_INGEST_WORKERS", "0");
    env.put("WHARF_INGEST_LEASE", "2s");
    env.put("WHARF_INGEST_POLL_INTERVAL", "50ms");
    env.put("WHARF_INGEST_BACKOFF_BASE", "100ms");
    env.put("WHARF_INGEST_BACKOFF_MAX", "1s");
    env.put("WHARF_INGEST_MAX_ATTEMPTS", "3");
    env.put("WHARF_INGEST_RECONCILE_INTERVAL", "1s");
    // Short enough that a slow upload outlives it (its heartbeat must keep it), and the sweeper runs often.
    env.put("WHARF_INGEST_STALE_UPLOAD_AFTER", "3s");
    env.put("WHARF_UPLOADS_SWEEP_INTERVAL", "500ms");
    env.put("WHARF_UPLOADS_SESSION_LEASE", "3s");
    env.putAll(extra);
    return env;
  }

  /** Deploys ingest workers on this stack (one instance, {@code concurrency} jobs at once). */
  public Future<String> startWorkers(int concurrency) {
    var ingest = app.services().config().ingest();
    return startWorker(app.services().blobs(), new dev.wharf.config.IngestConfig(1, concurrency, ingest.leaseTime(),
        ingest.maxAttempts(), ingest.backoffBase(), ingest.backoffMax(), ingest.pollInterval(), ingest.reconcileInterval(),
        ingest.staleUploadAfter(), ingest.stallTimeout(), ingest.retention()));
  }

  /** Deploys one ingest worker on this stack's database and queue, reading objects from {@code blobs}. */
  public Future<String> startWorker(dev.wharf.blob.BlobStore blobs, dev.wharf.config.IngestConfig config) {
    Services s = app.services();
    return vertx.deployVerticle(() -> new IngestWorker(s.pool(), blobs, s.queue(), config,
        Validators.standard(ValidationLimits.defaults()), s.metrics()),
        new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
  }

  /** A file uploaded by the tenant's first device: its id and its ingest job's. */
  public record Uploaded(String fileId, UUID jobId) {}

  /** Uploads a small JSON file as {@code urgent}; fails unless the gateway answers 201. */
  public Future<Uploaded> uploadUrgent(Tenant t, String filename, String json) {
    return client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", filename)
        .putHeader("X-Wharf-Priority", "urgent").sendBuffer(io.vertx.core.buffer.Buffer.buffer(json))
        .map(resp -> {
          if (resp.statusCode() != 201) {
            throw new AssertionError("upload of " + filename + " answered " + resp.statusCode() + ": " + resp.bodyAsString());
          }
          JsonObject body = resp.bodyAsJsonObject();
          return new Uploaded(body.getString("id"), UUID.fromString(body.getString("job_id")));
        });
  }

  /** The file as its device reads it, once its status is {@code status} (fails after {@code timeout}). */
  public Future<JsonObject> awaitFileStatus(Tenant t, String fileId, String status, Duration timeout) {
    JsonObject[] file = new JsonObject[1];
    return eventually(timeout, () -> client.get("/v1/files/" + fileId).bearerTokenAuthentication(t.tokenA()).send()
        .map(r -> {
          file[0] = r.bodyAsJsonObject();
          return status.equals(file[0].getString("status"));
        }))
        .map(v -> file[0]);
  }

  /** A fresh tenant with two devices and a sender holding the deliver and read scopes. */
  public Future<Tenant> newTenant() {
    String tenant = "t-" + UUID.randomUUID().toString().substring(0, 8);
    return admin("/v1/admin/tenants", new JsonObject().put("id", tenant))
        .compose(v -> admin("/v1/admin/tenants/" + tenant + "/devices", new JsonObject().put("id", "dev-a")))
        .compose(a -> admin("/v1/admin/tenants/" + tenant + "/devices", new JsonObject().put("id", "dev-b"))
            .compose(b -> admin("/v1/admin/tenants/" + tenant + "/tokens",
                    new JsonObject().put("scopes", new io.vertx.core.json.JsonArray().add("deliver").add("read")))
                .map(sender -> new Tenant(tenant, "dev-a", a.getJsonObject("token").getString("token"),
                    "dev-b", b.getJsonObject("token").getString("token"), sender.getString("token")))));
  }

  private Future<JsonObject> admin(String path, JsonObject body) {
    return client.post(path).bearerTokenAuthentication(ADMIN_TOKEN).sendJsonObject(body).map(resp -> {
      if (resp.statusCode() != 201) {
        throw new IllegalStateException(path + " answered " + resp.statusCode() + ": " + resp.bodyAsString());
      }
      return resp.bodyAsJsonObject();
    });
  }

  /** Keys stored under a tenant's prefix in the S3 bucket. */
  public Future<java.util.List<String>> objectKeys(String tenant) {
    return Future.fromCompletionStage(s3.listObjectsV2(b -> b.bucket(EmbeddedServers.S3_BUCKET).prefix("t/" + tenant + "/")))
        .map(ListObjectsV2Response::contents)
        .map(list -> list.stream().map(o -> o.key()).toList());
  }

  /** Multipart uploads left open in the bucket under a tenant's prefix. */
  public Future<Integer> openMultipartUploads(String tenant) {
    return Future.fromCompletionStage(s3.listMultipartUploads(b -> b.bucket(EmbeddedServers.S3_BUCKET).prefix("t/" + tenant + "/")))
        .map(r -> r.uploads().size());
  }

  /** Whether storage holds nothing under {@code key} (asked of S3 itself, not of Wharf). */
  public Future<Boolean> objectAbsent(String key) {
    return Future.fromCompletionStage(s3.listObjectsV2(b -> b.bucket(EmbeddedServers.S3_BUCKET).prefix(key)))
        .map(r -> r.contents().stream().noneMatch(o -> o.key().equals(key)));
  }

  /** Polls {@code check} every 50 ms until it yields true, failing after {@code timeout}. */
  public Future<Void> eventually(Duration timeout, java.util.function.Supplier<Future<Boolean>> check) {
    long deadline = System.nanoTime() + timeout.toNanos();
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    poll(deadline, check, done);
    return done.future();
  }

  private void poll(long deadline, java.util.function.Supplier<Future<Boolean>> check, io.vertx.core.Promise<Void> done) {
    check.get().onComplete(ar -> {
      if (ar.succeeded() && ar.result()) {
        done.complete();
      } else if (System.nanoTime() > deadline) {
        done.fail(new AssertionError("condition not met in time" + (ar.failed() ? ": " + ar.cause() : "")));
      } else {
        vertx.setTimer(50, id -> poll(deadline, check, done));
      }
    });
  }

  public static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /**
   * A Vert.x client speaking HTTP/2 over cleartext with prior knowledge (no upgrade) to this gateway, all its
   * requests on one connection; close it after use.
   */
  public io.vertx.core.http.HttpClientAgent h2cClient() {
    return vertx.createHttpClient(new io.vertx.core.http.HttpClientOptions().setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false).setDefaultHost("127.0.0.1").setDefaultPort(port), new io.vertx.core.http.PoolOptions().setHttp2MaxSize(1));
  }

  /** The result of {@code future}, waited for at most 60 s from a test's own thread. */
  /**
   * Runs every call in one task on an event loop, answering their futures: what the loop does when their requests
   * arrive in one read, so whatever the calls batch per turn they batch together.
   */
  public <T> java.util.List<Future<T>> onOneTurn(java.util.List<java.util.function.Supplier<Future<T>>> calls) throws Exception {
    io.vertx.core.Promise<java.util.List<Future<T>>> started = io.vertx.core.Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> {
      java.util.List<Future<T>> out = new java.util.ArrayList<>();
      calls.forEach(c -> out.add(c.get()));
      started.complete(out);
    });
    return started.future().toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  public static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** A test tenant: two devices with their tokens and a sender token (scopes deliver, read). */
  public record Tenant(String id, String deviceA, String tokenA, String deviceB, String tokenB, String senderToken) {}
}
