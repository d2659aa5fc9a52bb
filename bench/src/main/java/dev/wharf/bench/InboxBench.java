package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The issue-3 benchmark: what an idle long-poll costs the gateway, and how fast a held poll answers once a
 * delivery is staged for its device.
 *
 * <p>One tenant with N devices; one {@code GET /v1/inbox?wait=W} held per device from a Vert.x HttpClient in this
 * JVM (one connection each), opened in batches so the gateway's Postgres wait queue ({@code pool-size × 32}) never
 * overflows; a poll that ends at its deadline is re-issued at once, so the set stays held. Resident memory of the
 * gateway process (VmRSS) and its heap after a full GC, with no poll held and with N held, give the cost per held
 * poll. Then M devices, spread over the set, get one tiny multipart delivery each, one at a time; the time from the
 * staging to the answer of that device's held poll is the wake-up latency. Every non-200 answer is counted.
 */
final class InboxBench implements AutoCloseable {

  /** What to run; see bench/README.md for the option names. */
  record Settings(int polls, int samples, int batch, int waitSeconds, int poolSize, int deviceConcurrency,
      long sampleGapMillis, int warmupPolls, String gatewayHeap) {}

  /** Latency figures in milliseconds over the probes that were answered. */
  record Latency(double p50, double p99, double max, double min) {
    static Latency of(List<Double> values) {
      if (values.isEmpty()) {
        return new Latency(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
      }
      List<Double> sorted = new ArrayList<>(values);
      Collections.sort(sorted);
      return new Latency(rank(sorted, 0.50), rank(sorted, 0.99), sorted.get(sorted.size() - 1), sorted.get(0));
    }

    /** Nearest rank: the smallest value with at least {@code q} of the values at or below it. */
    private static double rank(List<Double> sorted, double q) {
      int index = (int) Math.ceil(q * sorted.size()) - 1;
      return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
  }

  record Result(int pollsAsked, int heldAtMeasure, double devicesPerSecond, double rampSeconds, long rssIdleKiB,
      long rssHeldKiB, long heapIdle, long heapHeld, long rssHighWaterKiB, int probes, int probesAnswered, int probesMismatched,
      int stagingFailures, Latency fromCreatedAt, Latency from201, Latency staging, int deadlineAnswers, int minHeldInCycle,
      int heldAfterCycle, long rssAfterCycleKiB, long heapAfterCycle,
      Map<String, Integer> pollErrors, int unexpectedAnswers, int ackFailures, double releaseSeconds, String loadBefore,
      String loadAfter) {

    double rssPerPollKiB() {
      return heldAtMeasure == 0 ? Double.NaN : (rssHeldKiB - rssIdleKiB) / (double) heldAtMeasure;
    }

    double heapPerPollKiB() {
      return heldAtMeasure == 0 ? Double.NaN : (heapHeld - heapIdle) / 1024.0 / heldAtMeasure;
    }
  }

  private record Device(int index, String id, String token, AtomicProbe probe) {}

  /** The answer a prober waits for, completed by the device's poll when it answers with items. */
  private static final class AtomicProbe {
    volatile CompletableFuture<Answer> waiting;
  }

  private record Answer(long nanos, Instant wall, List<String> ids) {}

  private record Reply(int status, String body) {}

  private final EmbeddedServers servers;
  private final Path jar;
  private final Path outDir;
  private final Settings settings;
  private final PrintStream out;
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private GatewayProcess gateway;
  private Vertx vertx;
  private final List<Poller> pollers = new ArrayList<>();
  private boolean closed;

  InboxBench(EmbeddedServers servers, Path jar, Path outDir, Settings settings, PrintStream out) {
    this.servers = servers;
    this.jar = jar;
    this.outDir = outDir;
    this.settings = settings;
    this.out = out;
  }

  Result run() throws Exception {
    String loadBefore = loadAverage();
    int polls = settings.polls();
    long fileLimit = openFileLimit();
    // Each side holds one socket per poll; leave room for the JVM's own files, the pools and s3proxy.
    if (fileLimit > 0 && polls + 2_000 > fileLimit) {
      int fitting = (int) Math.max(settings.batch(), (fileLimit - 2_000) / settings.batch() * settings.batch());
      out.printf(Locale.ROOT, "  open-file limit %d: %d polls would not fit beside the process's own files; using %d%n", fileLimit,
          polls, fitting);
      polls = fitting;
    }
    Path log = outDir.resolve("inbox-gateway.log");
    Map<String, String> env = Map.of(
        "WHARF_DELIVERIES_MAX_POLLS", Integer.toString(polls + settings.warmupPolls() + 1_000),
        "WHARF_POSTGRES_POOL_SIZE", Integer.toString(settings.poolSize()),
        "WHARF_DELIVERIES_MAX_WAIT", "60s");
    out.println("  starting the gateway: java -Xmx" + settings.gatewayHeap() + " -jar " + jar + " serve  (log: " + log + "), " + env);
    gateway = GatewayProcess.start(jar, settings.gatewayHeap(), servers, env, log);

    String tenant = gateway.createTenant("inbox-" + UUID.randomUUID().toString().substring(0, 8));
    String sender = gateway.issueSenderToken(tenant, "deliver", "read");
    long t0 = System.nanoTime();
    List<Device> devices = createDevices(tenant, polls);
    double devicesPerSecond = polls / seconds(System.nanoTime() - t0);
    out.printf(Locale.ROOT, "  created tenant %s with %d devices in %.1f s (%.0f /s, %d at a time)%n", tenant, polls,
        seconds(System.nanoTime() - t0), devicesPerSecond, settings.deviceConcurrency());
    vertx = Vertx.vertx();

    // Warm-up on its own client (closed after, so no connection of it stays open for the idle figure).
    int warmCount = Math.min(settings.warmupPolls(), polls);
    out.printf(Locale.ROOT, "  warm-up: %d polls (wait=2, re-issued), 20 probes, then all closed%n", warmCount);
    Poller warm = new Poller(warmCount, 2);
    rampUp(warm, devices.subList(0, warmCount));
    for (int i = 0; i < 20; i++) {
      probe(sender, devices.get(i * warmCount / 20), "warm-" + i, new ProbeStats());
    }
    TimeUnit.SECONDS.sleep(3);
    warm.close();
    awaitHeld(0, Duration.ofSeconds(30));

    TimeUnit.SECONDS.sleep(2);
    gateway.requestGc();
    TimeUnit.SECONDS.sleep(2);
    long rssIdle = gateway.procStatusKiB("VmRSS");
    long heapIdle = HeapWatch.heapUsed(gateway.metrics(), true);
    out.printf(Locale.ROOT, "  idle (0 polls held, after jcmd GC.run): RSS %.1f MiB, heap used %.1f MiB%n", rssIdle / 1024.0,
        heapIdle / 1048576.0);

    Poller main = new Poller(polls, settings.waitSeconds());
    long rampStart = System.nanoTime();
    rampUp(main, devices);
    double rampSeconds = seconds(System.nanoTime() - rampStart);
    int held = awaitHeld(polls, Duration.ofSeconds(60));
    out.printf(Locale.ROOT, "  %d polls held after %.1f s of ramp (asked %d); errors so far %s%n", held, rampSeconds, polls,
        main.errors());
    TimeUnit.SECONDS.sleep(3);
    gateway.requestGc();
    TimeUnit.SECONDS.sleep(2);
    long rssHeld = gateway.procStatusKiB("VmRSS");
    long heapHeld = HeapWatch.heapUsed(gateway.metrics(), true);
    int heldAtMeasure = (int) gateway.metric("wharf_inbox_polls_held");
    out.printf(Locale.ROOT, "  with %d polls held (after jcmd GC.run): RSS %.1f MiB, heap used %.1f MiB%n", heldAtMeasure,
        rssHeld / 1024.0, heapHeld / 1048576.0);

    int samples = Math.min(settings.samples(), polls);
    out.printf(Locale.ROOT, "  wake-up latency: %d probes, one at a time, %d ms apart, devices spread over the %d%n", samples,
        settings.sampleGapMillis(), polls);
    ProbeStats stats = new ProbeStats();
    for (int i = 0; i < samples; i++) {
      probe(sender, devices.get((int) ((long) i * polls / samples)), "probe-" + i, stats);
      if ((i + 1) % 50 == 0) {
        out.printf(Locale.ROOT, "    %d/%d probes, %d answered; server holds %.0f polls%n", i + 1, samples, stats.answered,
            gateway.metric("wharf_inbox_polls_held"));
      }
      TimeUnit.MILLISECONDS.sleep(settings.sampleGapMillis());
    }

    // Hold on until (nearly) every poll has ended at its deadline and been re-issued: the set must stay held
    // through that wave, which costs the gateway a check per expiring poll and two queries per new one.
    int expected = polls - samples;
    out.printf(Locale.ROOT, "  holding until %d polls have ended at their deadline and been re-issued (at most %d s)%n", expected,
        settings.waitSeconds() + 60);
    long cycleDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(settings.waitSeconds() + 60);
    int minHeld = Integer.MAX_VALUE;
    while (main.deadlines.get() < expected && System.nanoTime() < cycleDeadline) {
      minHeld = Math.min(minHeld, (int) gateway.metric("wharf_inbox_polls_held"));
      TimeUnit.MILLISECONDS.sleep(50);
    }
    int cycled = main.deadlines.get();
    TimeUnit.SECONDS.sleep(3);
    gateway.requestGc();
    TimeUnit.SECONDS.sleep(2);
    long rssAfterCycle = gateway.procStatusKiB("VmRSS");
    long heapAfterCycle = HeapWatch.heapUsed(gateway.metrics(), true);
    int heldAfterCycle = (int) gateway.metric("wharf_inbox_polls_held");
    out.printf(Locale.ROOT, "  %d polls re-issued at their deadline (fewest held meanwhile %d); now %d held (after jcmd GC.run):"
        + " RSS %.1f MiB, heap used %.1f MiB; errors so far %s%n", cycled, minHeld, heldAfterCycle, rssAfterCycle / 1024.0,
        heapAfterCycle / 1048576.0, main.errors());
    long rssHighWater = gateway.procStatusKiB("VmHWM");

    long releaseStart = System.nanoTime();
    main.close();
    awaitHeld(0, Duration.ofSeconds(30));
    double releaseSeconds = seconds(System.nanoTime() - releaseStart);
    Map<String, Integer> errors = main.errors();
    return new Result(polls, heldAtMeasure, devicesPerSecond, rampSeconds, rssIdle, rssHeld, heapIdle, heapHeld, rssHighWater,
        samples, stats.answered, stats.mismatched, stats.stagingFailures, Latency.of(stats.fromCreatedAt), Latency.of(stats.from201),
        Latency.of(stats.staging), main.deadlines.get(), minHeld == Integer.MAX_VALUE ? heldAfterCycle : minHeld, heldAfterCycle,
        rssAfterCycle, heapAfterCycle, errors, main.unexpected.get(), main.ackFailures.get(), releaseSeconds,
        loadBefore, loadAverage());
  }

  /** The devices, created through the admin API, {@code deviceConcurrency} calls at a time. */
  private List<Device> createDevices(String tenant, int count) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(settings.deviceConcurrency());
    try {
      List<java.util.concurrent.Future<Device>> futures = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int index = i;
        futures.add(pool.submit(() -> {
          String id = String.format(Locale.ROOT, "dev-%05d", index);
          return new Device(index, id, gateway.createDevice(tenant, id), new AtomicProbe());
        }));
      }
      List<Device> devices = new ArrayList<>(count);
      for (java.util.concurrent.Future<Device> f : futures) {
        devices.add(f.get(5, TimeUnit.MINUTES));
      }
      return devices;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Opens one poll per device in batches of {@code batch}: after each batch, waits (at most 30 s) until the gateway
   * counts them held, so at most one batch of checks waits for a Postgres connection at a time.
   */
  private void rampUp(Poller poller, List<Device> devices) throws Exception {
    int base = (int) gateway.metric("wharf_inbox_polls_held");
    for (int from = 0; from < devices.size(); from += settings.batch()) {
      int to = Math.min(devices.size(), from + settings.batch());
      for (Device d : devices.subList(from, to)) {
        poller.poll(d);
      }
      awaitHeld(base + to, Duration.ofSeconds(30));
      TimeUnit.MILLISECONDS.sleep(100);
      if (to % 2_000 == 0 || to == devices.size()) {
        out.printf(Locale.ROOT, "    opened %d/%d polls; server holds %.0f; errors so far %s%n", to, devices.size(),
            gateway.metric("wharf_inbox_polls_held"), poller.errors());
      }
    }
  }

  /**
   * Waits until the gateway's {@code wharf_inbox_polls_held} reaches {@code target} (or, for 0, falls to it), at most
   * {@code timeout}; answers the last value seen.
   */
  private int awaitHeld(int target, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    int held;
    while (true) {
      held = (int) gateway.metric("wharf_inbox_polls_held");
      boolean reached = target == 0 ? held == 0 : held >= target;
      if (reached || System.nanoTime() > deadline) {
        return held;
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
  }

  private static final class ProbeStats {
    final List<Double> fromCreatedAt = new ArrayList<>();
    final List<Double> from201 = new ArrayList<>();
    final List<Double> staging = new ArrayList<>();
    int answered;
    int mismatched;
    int stagingFailures;
  }

  /**
   * Stages one small file for the device (multipart, as a sender) and waits at most 10 s for its held poll to answer
   * with it. Records the latency from the delivery's {@code created_at} (stamped by Postgres with clock_timestamp()
   * in the insert, just before the commit) and from this side's receipt of the 201 (sent after the commit).
   */
  private void probe(String sender, Device device, String name, ProbeStats stats) throws Exception {
    CompletableFuture<Answer> answer = new CompletableFuture<>();
    device.probe().waiting = answer;
    try {
      String boundary = "wharf-bench-" + UUID.randomUUID();
      String body = "--" + boundary + "\r\n"
          + "Content-Disposition: form-data; name=\"file\"; filename=\"" + name + ".txt\"\r\n"
          + "Content-Type: text/plain\r\n\r\n"
          + "wake up, " + device.id() + "\r\n"
          + "--" + boundary + "--\r\n";
      long start = System.nanoTime();
      HttpResponse<String> staged;
      try {
        staged = http.send(HttpRequest.newBuilder(gateway.base().resolve("/v1/devices/" + device.id() + "/deliveries"))
                .header("Authorization", "Bearer " + sender)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build(),
            HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        stats.stagingFailures++;
        return;
      }
      long received = System.nanoTime();
      if (staged.statusCode() != 201) {
        stats.stagingFailures++;
        out.println("    staging for " + device.id() + " answered " + staged.statusCode() + ": " + staged.body());
        return;
      }
      JsonObject item = new JsonObject(staged.body()).getJsonArray("items").getJsonObject(0);
      String id = item.getString("id");
      Instant createdAt = OffsetDateTime.parse(item.getString("created_at")).toInstant();
      Answer a;
      try {
        a = answer.get(10, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        return;
      }
      if (!a.ids().contains(id)) {
        stats.mismatched++;
        return;
      }
      stats.answered++;
      stats.fromCreatedAt.add(Duration.between(createdAt, a.wall()).toNanos() / 1e6);
      stats.from201.add((a.nanos() - received) / 1e6);
      stats.staging.add((received - start) / 1e6);
    } finally {
      device.probe().waiting = null;
    }
  }

  /** Holds one poll per device on a client of its own, re-issuing each poll when it answers. */
  private final class Poller implements AutoCloseable {
    final HttpClientAgent client;
    final int waitSeconds;
    volatile boolean stopping;
    final AtomicInteger deadlines = new AtomicInteger();
    final AtomicInteger unexpected = new AtomicInteger();
    final AtomicInteger ackFailures = new AtomicInteger();
    final Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();

    Poller(int connections, int waitSeconds) {
      this.waitSeconds = waitSeconds;
      URI base = gateway.base();
      this.client = vertx.httpClientBuilder()
          .with(new HttpClientOptions()
              .setDefaultHost(base.getHost())
              .setDefaultPort(base.getPort())
              .setKeepAlive(true)
              .setKeepAliveTimeout(waitSeconds + 60)
              .setConnectTimeout(10_000))
          .with(new PoolOptions().setHttp1MaxSize(connections + 64))
          .build();
      pollers.add(this);
    }

    void poll(Device d) {
      if (stopping) {
        return;
      }
      request(HttpMethod.GET, "/v1/inbox?wait=" + waitSeconds, d.token(), (waitSeconds + 30) * 1000L)
          .onComplete(ar -> answered(d, ar));
    }

    private Future<Reply> request(HttpMethod method, String uri, String token, long idleTimeoutMillis) {
      RequestOptions options = new RequestOptions()
          .setMethod(method)
          .setURI(uri)
          .putHeader("Authorization", "Bearer " + token)
          .setIdleTimeout(idleTimeoutMillis);
      return client.request(options)
          .compose(req -> req.send())
          .compose(resp -> resp.body().map(body -> new Reply(resp.statusCode(), body.toString(StandardCharsets.UTF_8))));
    }

    private void answered(Device d, AsyncResult<Reply> ar) {
      long nanos = System.nanoTime();
      Instant wall = Instant.now();
      if (stopping) {
        return;
      }
      if (ar.failed()) {
        count("no answer: " + ar.cause().getClass().getSimpleName());
        later(d);
        return;
      }
      Reply reply = ar.result();
      if (reply.status() != 200) {
        count("HTTP " + reply.status());
        later(d);
        return;
      }
      JsonArray items = new JsonObject(reply.body()).getJsonArray("items");
      if (items.isEmpty()) {
        deadlines.incrementAndGet();
        poll(d);
        return;
      }
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < items.size(); i++) {
        ids.add(items.getJsonObject(i).getString("id"));
      }
      CompletableFuture<Answer> waiting = d.probe().waiting;
      if (waiting == null || !waiting.complete(new Answer(nanos, wall, ids))) {
        unexpected.incrementAndGet();
      }
      // Ack what came, so the next poll of this device is held again instead of answered with the same items.
      Future<Void> acked = Future.succeededFuture();
      for (String id : ids) {
        acked = acked.compose(v -> request(HttpMethod.POST, "/v1/inbox/" + id + "/ack", d.token(), 30_000L).map(r -> {
          if (r.status() != 200) {
            ackFailures.incrementAndGet();
          }
          return null;
        }));
      }
      acked.onComplete(v -> {
        if (v.failed()) {
          ackFailures.incrementAndGet();
        }
        poll(d);
      });
    }

    /** Re-issues a poll that failed after a second, so a refusal does not turn into a tight loop. */
    private void later(Device d) {
      vertx.setTimer(1_000, t -> poll(d));
    }

    private void count(String error) {
      errors.computeIfAbsent(error, k -> new AtomicInteger()).incrementAndGet();
    }

    Map<String, Integer> errors() {
      Map<String, Integer> copy = new TreeMap<>();
      errors.forEach((k, v) -> copy.put(k, v.get()));
      return copy;
    }

    /** Stops re-issuing and closes every connection (the gateway then drops those polls). */
    @Override
    public void close() {
      stopping = true;
      try {
        client.shutdown(0, TimeUnit.SECONDS).await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        out.println("  could not close a poll client within 30 s: " + e);
      }
    }
  }

  /** Stops the clients, then the gateway; safe to call twice. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Poller p : pollers) {
      if (!p.stopping) {
        p.close();
      }
    }
    if (gateway != null) {
      gateway.close();
    }
    if (vertx != null) {
      try {
        vertx.close().await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        out.println("  could not stop the client Vert.x within 30 s: " + e);
      }
    }
  }

  /** The soft {@code Max open files} of this process (the gateway child inherits it); -1 when unknown. */
  static long openFileLimit() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
          return "unlimited".equals(fields[0]) ? Long.MAX_VALUE : Long.parseLong(fields[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return fields[0] + " " + fields[1] + " " + fields[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }
}
