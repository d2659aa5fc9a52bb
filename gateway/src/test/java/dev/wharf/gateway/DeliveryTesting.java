package dev.wharf.gateway;

import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.multipart.MultipartForm;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Shared steps of the delivery tests: staging, polling, direct SQL for what a test must force. */
final class DeliveryTesting {

  private DeliveryTesting() {}

  /** Stages {@code files} (name → content) for {@code device} in one multipart request. */
  static Future<HttpResponse<Buffer>> stage(WebClient client, Tenant t, String device, Map<String, Buffer> files, Long ttlSeconds) {
    MultipartForm form = MultipartForm.create();
    files.forEach((name, body) -> form.binaryFileUpload("file", name, body, "application/octet-stream"));
    if (ttlSeconds != null) {
      form.attribute("ttl_seconds", Long.toString(ttlSeconds));
    }
    return client.post("/v1/devices/" + device + "/deliveries").bearerTokenAuthentication(t.senderToken()).sendMultipartForm(form);
  }

  /** Stages one small file and answers its delivery id; fails the test on anything but 201. */
  static Future<String> stageOne(WebClient client, Tenant t, String device, String name, String content) {
    return stage(client, t, device, Map.of(name, Buffer.buffer(content)), null).map(resp -> {
      if (resp.statusCode() != 201) {
        throw new AssertionError("staging answered " + resp.statusCode() + ": " + resp.bodyAsString());
      }
      return resp.bodyAsJsonObject().getJsonArray("items").getJsonObject(0).getString("id");
    });
  }

  static Future<JsonArray> poll(WebClient client, String deviceToken, int waitSeconds) {
    return client.get("/v1/inbox?wait=" + waitSeconds).bearerTokenAuthentication(deviceToken).send().map(resp -> {
      if (resp.statusCode() != 200) {
        throw new AssertionError("poll answered " + resp.statusCode() + ": " + resp.bodyAsString());
      }
      return resp.bodyAsJsonObject().getJsonArray("items");
    });
  }

  static Future<JsonObject> senderView(WebClient client, Tenant t, String id) {
    return client.get("/v1/deliveries/" + id).bearerTokenAuthentication(t.senderToken()).send().map(HttpResponse::bodyAsJsonObject);
  }

  /** Runs SQL on the stack's pool (to force expiry, a file status, a lost notice). */
  static Future<Integer> sql(TestStack stack, String statement, Object... args) {
    return stack.app.services().pool().preparedQuery(statement).execute(Tuple.from(java.util.Arrays.asList(args))).map(rows -> rows.rowCount());
  }

  /**
   * Inserts a staged delivery for {@code device} straight into PostgreSQL, with no notice at all: what a replica that
   * died between its commit and its publish leaves behind.
   */
  static Future<Integer> insertWithoutNotice(TestStack stack, Tenant t, String device, UUID id) {
    return sql(stack, "INSERT INTO deliveries (id, tenant_id, device_id, sender, object_key, owns_object, filename, size, sha256, "
            + "state, expires_at) VALUES ($1::uuid, $2, $3, 'test', $4, true, 'silent.txt', 1, $5, 'staged', now() + interval '1 hour')",
        id.toString(), t.id(), device, "t/" + t.id() + "/deliveries/" + id, "0".repeat(64));
  }

  /** Uploads a file as the tenant's device A and marks it processed (no ingest worker needed); answers its id. */
  static Future<String> processedFile(TestStack stack, Tenant t, String name, String content, String status) {
    return stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", name)
        .putHeader("Content-Type", "text/plain").sendBuffer(Buffer.buffer(content))
        .compose(resp -> {
          if (resp.statusCode() != 201) {
            throw new AssertionError("upload answered " + resp.statusCode() + ": " + resp.bodyAsString());
          }
          String id = resp.bodyAsJsonObject().getString("id");
          return status == null ? Future.succeededFuture(id)
              : sql(stack, "UPDATE files SET status = $2, status_detail = $3 WHERE id = $1::uuid", id, status,
                  "failed".equals(status) ? "not what it claims" : null).map(id);
        });
  }

  /** A second Wharf process on the same servers and Redis namespace, with its own Vert.x and port. */
  static final class Replica {
    final Vertx vertx;
    final int port;
    final Map<String, String> extra;
    WharfApp app;
    WebClient client;

    private Replica(Vertx vertx, int port, Map<String, String> extra) {
      this.vertx = vertx;
      this.port = port;
      this.extra = extra;
    }

    static Future<Replica> start(TestStack stack, Map<String, String> extra) throws Exception {
      Replica replica = new Replica(Vertx.vertx(), TestStack.freePort(), extra);
      return replica.startAgain(stack);
    }

    /** Starts (again) on the same port. */
    Future<Replica> startAgain(TestStack stack) {
      WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, port, extra));
      return WharfApp.start(vertx, config).map(started -> {
        app = started;
        if (client == null) {
          client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
        }
        return this;
      });
    }

    Future<Void> stop() {
      return app == null ? Future.succeededFuture() : app.stop();
    }

    /** Stops the app; the Vert.x instance closes in the background (its close can outlast a test's patience). */
    Future<Void> close() {
      return stop().onComplete(ar -> vertx.close());
    }
  }
}
