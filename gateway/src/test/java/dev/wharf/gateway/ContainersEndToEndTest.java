package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * Wharf as {@code wharf serve} runs it (broker mode, external servers) against the servers a deployment
 * uses, in containers: PostgreSQL, Redis, MinIO and Mosquitto. One pass end to end: upload → processed →
 * download, a delivery through the inbox, and an MQTT upload request → grant → PUT → status notice.
 * Where there is no Docker engine (as on the development machines) the class is skipped and JUnit reports
 * "Docker is not available"; the embedded servers stay what the rest of the suite runs on.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainersEndToEndTest {

  private static final String ADMIN = "containers-admin-token-0123456789";

  @Container
  static final GenericContainer<?> POSTGRES = new GenericContainer<>("postgres:16-alpine")
      .withEnv(Map.of("POSTGRES_DB", "wharf", "POSTGRES_USER", "wharf", "POSTGRES_PASSWORD", "wharf"))
      .withExposedPorts(5432)
      .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*", 2));

  @Container
  static final GenericContainer<?> REDIS = new GenericContainer<>("redis:7-alpine")
      .withExposedPorts(6379)
      .waitingFor(Wait.forLogMessage(".*Ready to accept connections.*", 1));

  @Container
  static final GenericContainer<?> MINIO = new GenericContainer<>("minio/minio:RELEASE.2025-04-22T22-12-26Z")
      .withCommand("server", "/data")
      .withEnv(Map.of("MINIO_ROOT_USER", "wharf-minio", "MINIO_ROOT_PASSWORD", "wharf-minio-secret"))
      .withExposedPorts(9000)
      .waitingFor(Wait.forHttp("/minio/health/ready").forPort(9000));

  @Container
  static final GenericContainer<?> MOSQUITTO = new GenericContainer<>("eclipse-mosquitto:2.0.20")
      .withCopyToContainer(Transferable.of("listener 1883\nallow_anonymous true\n"), "/mosquitto/config/mosquitto.conf")
      .withExposedPorts(1883)
      .waitingFor(Wait.forLogMessage(".*running.*", 1));

  static Vertx vertx;
  static WharfApp app;
  static WebClient http;
  static String publicUrl;

  @BeforeAll
  static void startWharf() throws Exception {
    vertx = Vertx.vertx();
    int port = TestStack.freePort();
    publicUrl = "http://127.0.0.1:" + port;
    Map<String, String> env = new HashMap<>();
    env.put("WHARF_ADMIN_TOKEN", ADMIN);
    env.put("WHARF_HTTP_HOST", "127.0.0.1");
    env.put("WHARF_HTTP_PORT", Integer.toString(port));
    env.put("WHARF_HTTP_PUBLIC_URL", publicUrl);
    env.put("WHARF_POSTGRES_HOST", POSTGRES.getHost());
    env.put("WHARF_POSTGRES_PORT", Integer.toString(POSTGRES.getMappedPort(5432)));
    env.put("WHARF_POSTGRES_PASSWORD", "wharf");
    env.put("WHARF_REDIS_URI", "redis://" + REDIS.getHost() + ":" + REDIS.getMappedPort(6379));
    env.put("WHARF_S3_ENDPOINT", "http://" + MINIO.getHost() + ":" + MINIO.getMappedPort(9000));
    env.put("WHARF_S3_ACCESS_KEY", "wharf-minio");
    env.put("WHARF_S3_SECRET_KEY", "wharf-minio-secret");
    env.put("WHARF_MQTT_MODE", "broker");
    env.put("WHARF_MQTT_BROKER_URI", "mqtt://" + MOSQUITTO.getHost() + ":" + MOSQUITTO.getMappedPort(1883));
    env.put("WHARF_MQTT_BROKER_RECONNECT_MAX", "1s");
    env.put("WHARF_INGEST_POLL_INTERVAL", "50ms");
    app = WharfApp.start(vertx, WharfConfig.load(null, env)).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    http = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
  }

  @AfterAll
  static void stopWharf() throws Exception {
    if (app != null) {
      app.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void uploadProcessDownloadDeliverAndGrantOverMqtt() throws Exception {
    assertThat(await(http.get("/readyz").send()).statusCode()).isEqualTo(200);
    JsonObject device = admin("/v1/admin/tenants", new JsonObject().put("id", "tc"))
        .compose(v -> admin("/v1/admin/tenants/tc/devices", new JsonObject().put("id", "tc-robot-1")))
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    String deviceToken = device.getJsonObject("token").getString("token");
    JsonObject other = await(admin("/v1/admin/tenants/tc/devices", new JsonObject().put("id", "tc-robot-2")));
    String otherToken = other.getJsonObject("token").getString("token");
    String sender = await(admin("/v1/admin/tenants/tc/tokens", new JsonObject().put("scopes", new JsonArray().add("deliver").add("read"))))
        .getString("token");

    // Upload → processed → download.
    String body = "{\"t\":1}\n{\"t\":2}\n";
    HttpResponse<Buffer> created = await(http.post("/v1/files").bearerTokenAuthentication(deviceToken)
        .putHeader("X-Wharf-Filename", "t.jsonl").sendBuffer(Buffer.buffer(body)));
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String fileId = created.bodyAsJsonObject().getString("id");
    awaitStatus(deviceToken, fileId, "processed");
    HttpResponse<Buffer> content = await(http.get("/v1/files/" + fileId + "/content").bearerTokenAuthentication(deviceToken).send());
    assertThat(content.bodyAsString()).isEqualTo(body);

    // Delivery → inbox → fetch → ack.
    HttpResponse<Buffer> staged = await(http.post("/v1/devices/tc-robot-2/deliveries").bearerTokenAuthentication(sender)
        .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(fileId))));
    assertThat(staged.statusCode()).as(staged.bodyAsString()).isEqualTo(201);
    JsonArray inbox = await(http.get("/v1/inbox?wait=5").bearerTokenAuthentication(otherToken).send()).bodyAsJsonObject().getJsonArray("items");
    assertThat(inbox).hasSize(1);
    String delivery = inbox.getJsonObject(0).getString("id");
    assertThat(await(http.get("/v1/inbox/" + delivery + "/content").bearerTokenAuthentication(otherToken).send()).bodyAsString()).isEqualTo(body);
    assertThat(await(http.post("/v1/inbox/" + delivery + "/ack").bearerTokenAuthentication(otherToken).send())
        .bodyAsJsonObject().getString("state")).isEqualTo("acked");

    // MQTT through Mosquitto: request → grant → PUT → files/status (the broker here lets anyone in;
    // deploy/mosquitto/mosquitto.conf is how a deployment authenticates devices through Wharf).
    BlockingQueue<JsonObject> grants = new LinkedBlockingQueue<>();
    BlockingQueue<JsonObject> statuses = new LinkedBlockingQueue<>();
    MqttClient mqtt = new MqttClient("tcp://" + MOSQUITTO.getHost() + ":" + MOSQUITTO.getMappedPort(1883), "tc-robot-1", new MemoryPersistence());
    mqtt.setCallback(new MqttCallback() {
      @Override
      public void connectionLost(Throwable cause) {}

      @Override
      public void messageArrived(String topic, MqttMessage message) {
        JsonObject json = new JsonObject(new String(message.getPayload(), StandardCharsets.UTF_8));
        (topic.endsWith("/upload/grant") ? grants : statuses).add(json);
      }

      @Override
      public void deliveryComplete(IMqttDeliveryToken token) {}
    });
    MqttConnectOptions options = new MqttConnectOptions();
    options.setCleanSession(true);
    mqtt.connect(options);
    try {
      mqtt.subscribe(new String[] {"wharf/d/tc-robot-1/upload/grant", "wharf/d/tc-robot-1/files/status"}, new int[] {1, 1});
      String payload = "{\"hello\":\"wharf\"}";
      MqttMessage request = new MqttMessage(new JsonObject().put("req", "r1").put("filename", "hello.json")
          .put("size", payload.length()).encode().getBytes(StandardCharsets.UTF_8));
      request.setQos(1);
      // Wharf subscribes after it connects; ask until the first grant arrives (a repeated req gets the same grant).
      JsonObject grant = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (grant == null && System.nanoTime() < deadline) {
        mqtt.publish("wharf/d/tc-robot-1/upload/request", request);
        grant = grants.poll(1, TimeUnit.SECONDS);
      }
      assertThat(grant).as("a grant over MQTT").isNotNull();
      String path = grant.getString("url").substring(publicUrl.length());
      HttpResponse<Buffer> put = await(http.put(path).sendBuffer(Buffer.buffer(payload)));
      assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(201);
      JsonObject status = statuses.poll(60, TimeUnit.SECONDS);
      assertThat(status).as("files/status over MQTT").isNotNull();
      assertThat(status.getString("file_id")).isEqualTo(grant.getString("file_id"));
      assertThat(status.getString("status")).isEqualTo("processed");
    } finally {
      mqtt.disconnect();
      mqtt.close();
    }
  }

  private static Future<JsonObject> admin(String path, JsonObject body) {
    return http.post(path).bearerTokenAuthentication(ADMIN).sendJsonObject(body).map(resp -> {
      if (resp.statusCode() != 201) {
        throw new IllegalStateException(path + " answered " + resp.statusCode() + ": " + resp.bodyAsString());
      }
      return resp.bodyAsJsonObject();
    });
  }

  private static void awaitStatus(String token, String fileId, String status) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    String seen = null;
    while (System.nanoTime() < deadline) {
      seen = await(http.get("/v1/files/" + fileId).bearerTokenAuthentication(token).send()).bodyAsJsonObject().getString("status");
      if (status.equals(seen)) {
        return;
      }
      // Poll with a deadline (the test thread, not an event loop): ask again after a short pause.
      await(Future.<Void>future(p -> vertx.setTimer(200, id -> p.complete())));
    }
    throw new AssertionError("file " + fileId + " still " + seen + " after 60 s");
  }

}
