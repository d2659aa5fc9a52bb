package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * The issue-4 benchmark ({@code wharf-bench.jar mqtt}): the gateway as a child JVM in MQTT endpoint mode, K devices
 * of one tenant connected as idle MQTT clients, the gateway's resident memory per connection, and upload request →
 * grant round trips from a few of them while all K are connected. Prints one table and appends it to
 * {@code OUT/mqtt-results.txt}. See bench/README.md.
 *
 * <p>Options ({@code --name value}): {@code --devices 10000}, {@code --gateway-heap 512m}, {@code --create-concurrency 16},
 * {@code --connect-batch 500}, {@code --connect-concurrency 100}, {@code --keep-alive-s 60}, {@code --rt-devices 50},
 * {@code --rt-inflight 2}, {@code --rt-warmup-s 5}, {@code --rt-seconds 20}, {@code --max-open-uploads 1000000},
 * {@code --gateway-jar gateway/target/wharf.jar}, {@code --out bench/target}.
 */
final class MqttBench {

  /** Descriptors kept free in each process for everything but the MQTT sockets (jars, epoll, pools, servers). */
  private static final int FD_RESERVE = 512;

  private final Map<String, String> options;
  private final PrintStream out = System.out;
  private final Teardown toClose = new Teardown("wharf-bench mqtt");

  private MqttBench(Map<String, String> options) {
    this.options = options;
  }

  /** Runs the benchmark; answers the exit status. */
  static int main(String[] args) {
    MqttBench bench = new MqttBench(parse(args));
    Thread hook = new Thread(bench.toClose::close, "wharf-bench-mqtt-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      bench.run();
      return 0;
    } catch (Exception e) {
      System.err.println("wharf-bench mqtt: failed: " + e);
      e.printStackTrace();
      return 1;
    } finally {
      bench.toClose.close();
    }
  }

  private void run() throws Exception {
    Path jar = Path.of(option("gateway-jar", "gateway/target/wharf.jar"));
    Path outDir = Path.of(option("out", "bench/target"));
    int asked = intOption("devices", 10_000);
    String gatewayHeap = option("gateway-heap", "512m");
    int createConcurrency = intOption("create-concurrency", 16);
    int connectBatch = intOption("connect-batch", 500);
    int connectConcurrency = intOption("connect-concurrency", 100);
    int keepAlive = intOption("keep-alive-s", 60);
    int rtDevices = intOption("rt-devices", 50);
    int rtInflight = intOption("rt-inflight", 2);
    int rtWarmup = intOption("rt-warmup-s", 5);
    int rtSeconds = intOption("rt-seconds", 20);
    String maxOpenUploads = option("max-open-uploads", "1000000");
    Files.createDirectories(outDir);
    String loadBefore = loadAverage();

    Path work = Files.createTempDirectory("wharf-bench-mqtt");
    toClose.deleteTreeLater(work);
    out.println("starting embedded PostgreSQL, Redis and s3proxy in " + work);
    EmbeddedServers servers = EmbeddedServers.start(work.resolve("servers"));
    toClose.push(servers);

    int mqttPort = freePort();
    Path gatewayLog = outDir.resolve("gateway-mqtt.log");
    out.println("starting the gateway: java -Xmx" + gatewayHeap + " -jar " + jar + " serve, WHARF_MQTT_MODE=endpoint on 127.0.0.1:"
        + mqttPort + ", WHARF_MQTT_MAX_OPEN_UPLOADS=" + maxOpenUploads + "  (log: " + gatewayLog + ")");
    GatewayProcess gateway = GatewayProcess.start(jar, gatewayHeap, servers, Map.of(
        "WHARF_MQTT_MODE", "endpoint",
        "WHARF_MQTT_HOST", "127.0.0.1",
        "WHARF_MQTT_PORT", Integer.toString(mqttPort),
        "WHARF_MQTT_MAX_OPEN_UPLOADS", maxOpenUploads), gatewayLog);
    toClose.push(gateway);

    // Every connection costs one descriptor on each side; both processes also need some for everything else.
    long ownLimit = openFileLimit("self");
    long gatewayLimit = openFileLimit(Long.toString(gateway.pid()));
    long ownOpen = openFiles("self");
    long gatewayOpen = openFiles(Long.toString(gateway.pid()));
    long ports = ephemeralPorts();
    long fdRoom = Math.min(ownLimit - ownOpen, gatewayLimit - gatewayOpen) - FD_RESERVE;
    int devices = asked;
    List<String> limitedBy = new ArrayList<>();
    if (fdRoom < devices) {
      devices = (int) Math.max(0, fdRoom);
      limitedBy.add(String.format(Locale.ROOT, "open files: limit %d here (%d open), %d in the gateway (%d open), %d kept in reserve",
          ownLimit, ownOpen, gatewayLimit, gatewayOpen, FD_RESERVE));
    }
    if (ports > 0 && ports - 1_000 < devices) {
      devices = (int) (ports - 1_000);
      limitedBy.add("ephemeral ports: " + ports + " in net.ipv4.ip_local_port_range, 1000 kept in reserve");
    }
    out.printf(Locale.ROOT, "  open-file limit %d here, %d in the gateway; %d ephemeral ports; K = %d (asked %d)%n",
        ownLimit, gatewayLimit, ports, devices, asked);

    String tenant = "mqtt-" + UUID.randomUUID().toString().substring(0, 8);
    out.printf(Locale.ROOT, "creating tenant %s and %d devices through the admin API (%d at a time)%n", tenant, devices, createConcurrency);
    long createStart = System.nanoTime();
    List<MqttFleet.Device> fleet = createDevices(gateway.baseUri(), tenant, devices, createConcurrency);
    double createSeconds = (System.nanoTime() - createStart) / 1e9;
    out.printf(Locale.ROOT, "  %d devices in %.1f s%n", fleet.size(), createSeconds);

    MqttFleet clients = new MqttFleet(mqttPort, "wharf", keepAlive);
    toClose.push(clients);
    toClose.push(() -> clients.disconnectAll(fleet));

    // Warm-up: some connections and round trips, so the idle figure is of a gateway that has done its lazy
    // initialisation (connection handling, grant path, JIT), then everything disconnected.
    int warmDevices = Math.min(Math.max(rtDevices, 200), fleet.size());
    out.printf(Locale.ROOT, "warm-up: %d connections, round trips from %d of them for %d s, then all disconnected%n",
        warmDevices, Math.min(rtDevices, warmDevices), rtWarmup + 3);
    List<MqttFleet.Device> warm = fleet.subList(0, warmDevices);
    MqttFleet.Ramp warmRamp = clients.connect(warm, connectBatch, connectConcurrency, 30_000, n -> { });
    if (warmRamp.connected() < warmDevices) {
      throw new IllegalStateException("warm-up: " + warmRamp.connected() + " of " + warmDevices + " connected; first failure: "
          + warmRamp.firstFailure());
    }
    MqttFleet.RoundTrips warmTrips = clients.roundTrips(warm.subList(0, Math.min(rtDevices, warmDevices)), rtInflight, 0, rtWarmup + 3);
    out.printf(Locale.ROOT, "  %.0f round trips/s, p50 %.1f ms (not counted)%n", warmTrips.perSecond(), warmTrips.percentileMillis(0.5));
    clients.disconnectAll(warm);
    awaitConnected(gateway, 0, Duration.ofSeconds(30));

    Snapshot idle = snapshot(gateway);
    out.printf(Locale.ROOT, "idle (0 connections, after GC): gateway RSS %.1f MiB, heap used %.1f MiB, %d open files%n",
        idle.rssKiB() / 1024.0, idle.heapBytes() / 1048576.0, idle.openFiles());
    long clientRssBefore = clientRssAfterGc();

    out.printf(Locale.ROOT, "connecting %d MQTT clients: batches of %d, at most %d handshakes at a time, keep-alive %d s%n",
        fleet.size(), connectBatch, connectConcurrency, keepAlive);
    int progressEvery = Math.max(1, fleet.size() / 10 / connectBatch) * connectBatch;
    MqttFleet.Ramp ramp = clients.connect(fleet, connectBatch, connectConcurrency, 30_000, n -> {
      if (n % progressEvery < connectBatch || n == fleet.size()) {
        out.printf(Locale.ROOT, "  %6d connected, gateway RSS %.1f MiB%n", n, gateway.procStatusKiB("VmRSS") / 1024.0);
      }
    });
    out.printf(Locale.ROOT, "  %d of %d connected in %.1f s (%d failed)%s%n", ramp.connected(), fleet.size(), ramp.seconds(), ramp.failed(),
        ramp.stoppedBecause() == null ? "" : "; stopped: " + ramp.stoppedBecause());
    if (ramp.firstFailure() != null) {
      out.println("  first failure: " + ramp.firstFailure());
      limitedBy.add("connect failures (first: " + ramp.firstFailure() + ")");
    }
    int reached = ramp.connected();
    TimeUnit.SECONDS.sleep(3);
    long serverSees = connectedDevices(gateway);
    Snapshot loaded = snapshot(gateway);
    long clientRssAfter = clientRssAfterGc();
    out.printf(Locale.ROOT, "with %d connected (gateway counts %d), after GC: gateway RSS %.1f MiB, heap used %.1f MiB, %d open files%n",
        reached, serverSees, loaded.rssKiB() / 1024.0, loaded.heapBytes() / 1048576.0, loaded.openFiles());

    List<MqttFleet.Device> talking = fleet.stream().filter(d -> d.connected).limit(rtDevices).toList();
    out.printf(Locale.ROOT, "round trips: %d devices x %d in flight, QoS 1, fresh req each; %d s warm-up, then %d s counted; %d connected%n",
        talking.size(), rtInflight, rtWarmup, rtSeconds, reached);
    MqttFleet.RoundTrips trips = clients.roundTrips(talking, rtInflight, rtWarmup, rtSeconds);
    long stillConnected = connectedDevices(gateway);
    out.printf(Locale.ROOT, "  %.0f round trips/s; p50 %.1f ms, p99 %.1f ms, max %.1f ms; errors %s; gateway still counts %d connected%n",
        trips.perSecond(), trips.percentileMillis(0.5), trips.percentileMillis(0.99), trips.maxMillis(), errors(trips), stillConnected);
    String loadAfter = loadAverage();

    ResultTable table = new ResultTable();
    table.add("MQTT connections held (K reached / asked)", reached + " / " + asked, "10000");
    table.add("  K limited by", limitedBy.isEmpty() ? "nothing (ulimit -n " + ownLimit + " here, " + gatewayLimit + " gateway)"
        : String.join("; ", limitedBy));
    table.add("  connect ramp (s, handshakes/s)", String.format(Locale.ROOT, "%.1f s, %.0f/s", ramp.seconds(), ramp.attempted() / ramp.seconds()));
    table.add("  gateway's wharf_mqtt_connected_devices", Long.toString(serverSees));
    table.add("gateway RSS idle (0 conn, after warm-up, GC)", fmtMib(idle.rssKiB()));
    table.add("gateway RSS with K connected (after GC)", fmtMib(loaded.rssKiB()));
    table.add("gateway RSS per connection (KiB)", perConnection(loaded.rssKiB() - idle.rssKiB(), reached));
    table.add("gateway heap used idle / with K (MiB)", String.format(Locale.ROOT, "%.1f / %.1f", idle.heapBytes() / 1048576.0,
        loaded.heapBytes() / 1048576.0));
    table.add("gateway heap per connection (KiB)", perConnection((loaded.heapBytes() - idle.heapBytes()) / 1024, reached));
    table.add("  gateway heap committed idle / with K (MiB)", String.format(Locale.ROOT, "%.1f / %.1f",
        idle.heapCommittedBytes() / 1048576.0, loaded.heapCommittedBytes() / 1048576.0));
    table.add("gateway open files idle / with K", idle.openFiles() + " / " + loaded.openFiles());
    if (clientRssBefore > 0 && clientRssAfter > 0) {
      table.add("  bench client RSS per connection (KiB)", perConnection(clientRssAfter - clientRssBefore, reached));
    }
    String rtLabel = " (" + trips.devices() + " dev x " + trips.inflightPerDevice() + ", " + rtSeconds + " s)";
    table.add("request->grant round trips/s" + rtLabel, fmt0(trips.perSecond()));
    table.add("  latency p50 / p99 / max (ms)", String.format(Locale.ROOT, "%.1f / %.1f / %.1f", trips.percentileMillis(0.5),
        trips.percentileMillis(0.99), trips.maxMillis()));
    table.add("  replies counted (errors among them)", trips.inWindow() + " (" + trips.errorsInWindow() + ")");
    table.add("  error replies by code (warm-up + window)", errors(trips));
    table.add("  no reply / publish failed / unmatched", trips.noReply() + " / " + trips.publishFailures() + " / " + trips.unmatched());
    table.add("connections dropped during the run", Long.toString(clients.droppedConnections()));
    table.add("load average before / after", loadBefore + " / " + loadAfter);

    String rendered = table.render();
    out.println();
    out.print(rendered);
    String header = "# wharf-bench mqtt, " + java.time.OffsetDateTime.now().withNano(0) + ", "
        + Runtime.getRuntime().availableProcessors() + " cores, java " + System.getProperty("java.version") + ", gateway -Xmx" + gatewayHeap
        + ", mqtt.max-open-uploads " + maxOpenUploads + ", keep-alive " + keepAlive + " s\n";
    Path results = outDir.resolve("mqtt-results.txt");
    Files.writeString(results, header + rendered + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    out.println();
    out.println("appended to " + results);
  }

  /** Creates {@code count} devices of a new tenant, {@code concurrency} requests at a time; keeps their tokens. */
  private List<MqttFleet.Device> createDevices(URI base, String tenant, int count, int concurrency) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    post(http, base, "/v1/admin/tenants", new JsonObject().put("id", tenant)).get(30, TimeUnit.SECONDS);
    MqttFleet.Device[] devices = new MqttFleet.Device[count];
    Semaphore slots = new Semaphore(concurrency);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int i = 0; i < count && failure.get() == null; i++) {
      if (!slots.tryAcquire(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("no device creation finished within 60 s");
      }
      int index = i;
      String id = String.format(Locale.ROOT, "dev-%05d", i);
      post(http, base, "/v1/admin/tenants/" + tenant + "/devices", new JsonObject().put("id", id))
          .orTimeout(60, TimeUnit.SECONDS)
          .whenComplete((json, err) -> {
            if (err != null) {
              failure.compareAndSet(null, err);
            } else {
              devices[index] = new MqttFleet.Device(id, json.getJsonObject("token").getString("token"));
            }
            slots.release();
          });
      if ((i + 1) % 2_000 == 0) {
        out.printf(Locale.ROOT, "  %d requested%n", i + 1);
      }
    }
    if (!slots.tryAcquire(concurrency, 60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("device creation did not finish within 60 s");
    }
    if (failure.get() != null) {
      throw new IOException("creating devices failed: " + failure.get(), failure.get());
    }
    return List.of(devices);
  }

  private static java.util.concurrent.CompletableFuture<JsonObject> post(HttpClient http, URI base, String path, JsonObject body) {
    return http.sendAsync(HttpRequest.newBuilder(base.resolve(path))
                .header("Authorization", "Bearer " + GatewayProcess.ADMIN_TOKEN)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body.encode()))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .thenApply(reply -> {
          if (reply.statusCode() != 201) {
            throw new IllegalStateException("POST " + path + " answered " + reply.statusCode() + ": " + reply.body());
          }
          return new JsonObject(reply.body());
        });
  }

  /** The gateway's memory after a full GC (jcmd) and 2 s of quiet. */
  private record Snapshot(long rssKiB, long heapBytes, long heapCommittedBytes, long openFiles) {}

  private Snapshot snapshot(GatewayProcess gateway) throws Exception {
    if (!gateway.requestGc()) {
      out.println("  (jcmd GC.run failed: RSS and heap include uncollected garbage)");
    }
    TimeUnit.SECONDS.sleep(2);
    String metrics = gateway.metrics();
    return new Snapshot(gateway.procStatusKiB("VmRSS"), HeapWatch.heapUsed(metrics, true), heapCommitted(metrics),
        openFiles(Long.toString(gateway.pid())));
  }

  /** {@code jvm_memory_committed_bytes} summed over the heap pools; -1 when absent. */
  private static long heapCommitted(String prometheusText) {
    long sum = -1;
    for (String line : prometheusText.split("\n")) {
      if (line.startsWith("jvm_memory_committed_bytes{") && line.contains("area=\"heap\"")) {
        sum = Math.max(sum, 0) + (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** This JVM's VmRSS after System.gc(), for the client side's cost; -1 where /proc has none. */
  private static long clientRssAfterGc() throws InterruptedException {
    System.gc();
    TimeUnit.MILLISECONDS.sleep(500);
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** {@code wharf_mqtt_connected_devices} from the gateway's /metrics; -1 when absent. */
  private static long connectedDevices(GatewayProcess gateway) throws IOException, InterruptedException {
    for (String line : gateway.metrics().split("\n")) {
      if (line.startsWith("wharf_mqtt_connected_devices")) {
        return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return -1;
  }

  private static void awaitConnected(GatewayProcess gateway, long expected, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (connectedDevices(gateway) != expected && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(200);
    }
  }

  private static String errors(MqttFleet.RoundTrips trips) {
    return trips.errorsByCode().isEmpty() ? "none"
        : trips.errorsByCode().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "));
  }

  /** {@code Max open files} (soft) of a process from /proc/PID/limits. */
  private static long openFileLimit(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "limits"))) {
      if (line.startsWith("Max open files")) {
        return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
      }
    }
    throw new IOException("no 'Max open files' in /proc/" + pid + "/limits");
  }

  private static long openFiles(String pid) throws IOException {
    try (var entries = Files.list(Path.of("/proc", pid, "fd"))) {
      return entries.count();
    }
  }

  /** The size of the local port range outgoing connections draw from; -1 where unknown. */
  private static long ephemeralPorts() {
    try {
      // Files.readString reads this sysctl short (size 0 in /proc); read it line by line.
      String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim().split("\\s+");
      return Long.parseLong(range[1]) - Long.parseLong(range[0]) + 1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  private static String perConnection(long kib, int connections) {
    return connections == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", (double) kib / connections);
  }

  private static String fmtMib(long kib) {
    return String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
  }

  private static String fmt0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("options are --name value pairs; see bench/README.md (at: " + args[i] + ")");
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

  private String option(String name, String defaultValue) {
    return options.getOrDefault(name, defaultValue);
  }

  private int intOption(String name, int defaultValue) {
    return Integer.parseInt(option(name, Integer.toString(defaultValue)));
  }
}
