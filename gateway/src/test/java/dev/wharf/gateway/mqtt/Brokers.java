package dev.wharf.gateway.mqtt;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.config.WharfConfig;
import io.moquette.broker.Server;
import io.moquette.broker.config.MemoryConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/** Real MQTT brokers for broker-mode tests, and Wharf processes (on the shared test servers) that join them. */
final class Brokers {

  private Brokers() {}

  /** Moquette in-process, with sessions and queues persisted in {@code dataDir} so a restart keeps them. */
  static final class Moquette implements AutoCloseable {
    final int port;
    private final Path dataDir;
    private Server server;

    Moquette(int port, Path dataDir) {
      this.port = port;
      this.dataDir = dataDir;
    }

    Moquette start() throws IOException {
      Properties props = new Properties();
      props.setProperty("host", "127.0.0.1");
      props.setProperty("port", Integer.toString(port));
      props.setProperty("allow_anonymous", "true");
      props.setProperty("persistence_enabled", "true");
      props.setProperty("data_path", dataDir.toString() + "/");
      props.setProperty("telemetry_enabled", "false");
      server = new Server();
      server.startServer(new MemoryConfig(props));
      return this;
    }

    void stop() {
      if (server != null) {
        server.stopServer();
        server = null;
      }
    }

    @Override
    public void close() {
      stop();
    }
  }

  /** Debian's Mosquitto, which has shared subscriptions, as a child process; null when it is not installed. */
  static final class Mosquitto implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/sbin/mosquitto");
    final int port;
    private final Process process;

    private Mosquitto(int port, Process process) {
      this.port = port;
      this.process = process;
    }

    static boolean installed() {
      return Files.isExecutable(BINARY);
    }

    static Mosquitto start(Path dir) throws Exception {
      int port = TestStack.freePort();
      Path conf = dir.resolve("mosquitto.conf");
      Files.writeString(conf, "listener " + port + " 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 10000\n");
      Process process = new ProcessBuilder(BINARY.toString(), "-c", conf.toString())
          .redirectErrorStream(true).redirectOutput(dir.resolve("mosquitto.log").toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (true) {
        try (Socket socket = new Socket()) {
          socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return new Mosquitto(port, process);
        } catch (IOException notYet) {
          if (!process.isAlive() || System.nanoTime() > deadline) {
            process.destroyForcibly();
            throw new IllegalStateException("mosquitto did not start; see " + dir.resolve("mosquitto.log"));
          }
          // The connect attempt itself (up to 200 ms) paces this loop.
        }
      }
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** A device whose id no other tenant has (broker mode needs that: topics carry no tenant). */
  record Device(String tenant, String id, String token) {}

  static io.vertx.core.Future<Device> uniqueDevice(TestStack stack) {
    String id = "bd-" + java.util.UUID.randomUUID().toString().substring(0, 12);
    return stack.newTenant().compose(t -> stack.client.post("/v1/admin/tenants/" + t.id() + "/devices")
        .bearerTokenAuthentication(TestStack.ADMIN_TOKEN)
        .sendJsonObject(new io.vertx.core.json.JsonObject().put("id", id))
        .map(resp -> {
          if (resp.statusCode() != 201) {
            throw new IllegalStateException("device not created: " + resp.bodyAsString());
          }
          return new Device(t.id(), id, resp.bodyAsJsonObject().getJsonObject("token").getString("token"));
        }));
  }

  /** A Wharf process in broker mode on the test stack's servers and Vert.x, with its own HTTP port. */
  static WharfApp wharf(TestStack stack, int brokerPort, String clientId, String sharedGroup, Map<String, String> extra) throws Exception {
    int http = TestStack.freePort();
    Map<String, String> env = new HashMap<>(Map.of(
        "WHARF_MQTT_MODE", "broker",
        "WHARF_MQTT_BROKER_URI", "mqtt://127.0.0.1:" + brokerPort,
        "WHARF_MQTT_BROKER_CLIENT_ID", clientId,
        "WHARF_MQTT_BROKER_SHARED_GROUP", sharedGroup,
        "WHARF_MQTT_BROKER_RECONNECT_MIN", "100ms",
        "WHARF_MQTT_BROKER_RECONNECT_MAX", "1s",
        "WHARF_HTTP_INSTANCES", "1"));
    env.putAll(extra);
    WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, http, env));
    return WharfApp.start(stack.vertx, config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
