package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The issue-11 benchmark: the gateway's cost per small request, side by side with its yardsticks on the same
 * servers in one run. Closed loops of {@code connections} requests in flight (one per pooled connection, each
 * sending the next as soon as the last answered) for a fixed time per workload:
 *
 * <ul>
 *   <li>{@code presigned PUT}: a 23-byte JSON body PUT straight to s3proxy on a presigned URL (no gateway);
 *   <li>{@code POST /v1/files}: the same body uploaded through the gateway by a device;
 *   <li>{@code GET /healthz}, {@code GET /v1/inbox} (empty, {@code wait=0}) and {@code POST /v1/inbox/{id}/ack} (a
 *       repeat ack of deliveries staged and acked beforehand, which answers 200 with the delivery).
 * </ul>
 *
 * Rounds rotate the order of the workloads; each figure is the total over all rounds (requests / seconds, the
 * gateway child's CPU from {@code /proc/PID/stat} / requests).
 */
final class SmallBench implements AutoCloseable {

  static final Buffer BODY = Buffer.buffer("{\"temp\":21.5,\"ok\":true}", "UTF-8");

  /**
   * {@code only}: run just the workloads whose names contain one of these (empty: all), e.g. to profile one.
   * {@code verifying}: the gateway runs ingest workers, so the uploads' jobs are waited for after each round.
   */
  record Settings(int connections, int seconds, int warmupSeconds, int rounds, int presignedKeys, int ackDeliveries, List<String> only,
      boolean verifying) {}

  /**
   * CPU seconds used meanwhile by each process of the run: the gateway, this JVM (the load generator and the
   * in-process s3proxy), and every PostgreSQL and Redis server process on the machine; {@code gatewaySystem} is
   * the kernel's part of the gateway's (its sockets and system calls), already counted in {@code gateway}.
   */
  record Cpu(double gateway, double gatewaySystem, double bench, double postgres, double redis) {
    static final Cpu ZERO = new Cpu(0, 0, 0, 0, 0);

    Cpu minus(Cpu earlier) {
      return new Cpu(gateway - earlier.gateway, gatewaySystem - earlier.gatewaySystem, bench - earlier.bench, postgres - earlier.postgres,
          redis - earlier.redis);
    }

    Cpu plus(Cpu other) {
      return new Cpu(gateway + other.gateway, gatewaySystem + other.gatewaySystem, bench + other.bench, postgres + other.postgres,
          redis + other.redis);
    }
  }

  /** One workload's totals over the counted rounds; {@code settle} is what verifying the uploads took after them. */
  record Figure(String name, long ok, long failed, double seconds, Cpu cpu, Map<String, Long> failures, double settleSeconds, Cpu settle) {
    double perSecond() {
      return ok / seconds;
    }

    /** Requests answered per second counting the time the gateway took afterwards to settle (uploads: to verify them). */
    double settledPerSecond() {
      return ok / (seconds + settleSeconds);
    }

    /** Gateway CPU per request, the settling afterwards included. */
    double settledGatewayCpuMsPerRequest() {
      return perRequest(cpu.gateway() + settle.gateway());
    }

    double gatewayCpuMsPerRequest() {
      return perRequest(cpu.gateway());
    }

    double gatewaySystemCpuMsPerRequest() {
      return perRequest(cpu.gatewaySystem());
    }

    double benchCpuMsPerRequest() {
      return perRequest(cpu.bench());
    }

    double postgresCpuMsPerRequest() {
      return perRequest(cpu.postgres());
    }

    double redisCpuMsPerRequest() {
      return perRequest(cpu.redis());
    }

    /** Every measured process together: on a machine whose cores are all busy, what bounds the rate. */
    double allCpuMsPerRequest() {
      return perRequest(cpu.gateway() + cpu.bench() + cpu.postgres() + cpu.redis());
    }

    private double perRequest(double cpuSeconds) {
      return cpuSeconds * 1000 / Math.max(1, ok + failed);
    }
  }

  private final EmbeddedServers servers;
  private final GatewayProcess gateway;
  private final Settings settings;
  private final PrintStream out;
  private final Vertx vertx = Vertx.vertx();
  private final HttpClientAgent toGateway;
  private final HttpClientAgent toS3;
  private final io.vertx.sqlclient.Pool pg;

  SmallBench(EmbeddedServers servers, GatewayProcess gateway, Settings settings, PrintStream out) {
    this.servers = servers;
    this.gateway = gateway;
    this.settings = settings;
    this.out = out;
    URI base = gateway.base();
    this.toGateway = client(base.getHost(), base.getPort());
    URI s3 = URI.create(servers.s3Endpoint());
    this.toS3 = client(s3.getHost(), s3.getPort());
    this.pg = io.vertx.pgclient.PgBuilder.pool().with(new io.vertx.sqlclient.PoolOptions().setMaxSize(1))
        .connectingTo(new io.vertx.pgclient.PgConnectOptions().setHost(servers.postgresHost()).setPort(servers.postgresPort())
            .setUser(servers.postgresUser()).setDatabase(servers.postgresDatabase()))
        .using(vertx).build();
  }

  private HttpClientAgent client(String host, int port) {
    return vertx.httpClientBuilder()
        .with(new HttpClientOptions().setDefaultHost(host).setDefaultPort(port).setKeepAlive(true).setConnectTimeout(10_000))
        .with(new PoolOptions().setHttp1MaxSize(settings.connections()))
        .build();
  }

  /** Runs every workload and answers its figures by name, in a fixed order. */
  Map<String, Figure> run() throws Exception {
    gateway.createDevice();
    String tenant = gateway.createTenant("small-" + UUID.randomUUID().toString().substring(0, 8));
    String uploader = gateway.createDevice(tenant, "uploader");
    String poller = gateway.createDevice(tenant, "poller");
    String acker = gateway.createDevice(tenant, "acker");
    String sender = gateway.issueSenderToken(tenant, "deliver");

    List<String> presigned = presignedUrls(settings.presignedKeys());
    List<String> ackUris = stageAndAck(sender, acker, settings.ackDeliveries());
    out.printf(Locale.ROOT, "  %d presigned URLs, %d deliveries staged and acked once for the repeat acks%n", presigned.size(), ackUris.size());

    Map<String, IntFunction<Future<Integer>>> workloads = new LinkedHashMap<>();
    workloads.put("presigned PUT", i -> send(toS3, new RequestOptions().setMethod(HttpMethod.PUT)
        .setAbsoluteURI(presigned.get(i % presigned.size())).putHeader("Content-Type", "application/json"), BODY));
    workloads.put("POST /v1/files", i -> send(toGateway, new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/files")
        .putHeader("Authorization", "Bearer " + uploader).putHeader("Content-Type", "application/json")
        .putHeader("X-Wharf-Filename", "reading.json"), BODY));
    workloads.put("GET /healthz", i -> send(toGateway, new RequestOptions().setMethod(HttpMethod.GET).setURI("/healthz"), null));
    workloads.put("GET /v1/inbox", i -> send(toGateway, new RequestOptions().setMethod(HttpMethod.GET).setURI("/v1/inbox?wait=0")
        .putHeader("Authorization", "Bearer " + poller), null));
    workloads.put("POST /v1/inbox/{id}/ack", i -> send(toGateway, new RequestOptions().setMethod(HttpMethod.POST)
        .setURI(ackUris.get(i % ackUris.size())).putHeader("Authorization", "Bearer " + acker), null));

    if (!settings.only().isEmpty()) {
      workloads.keySet().removeIf(name -> settings.only().stream().noneMatch(name::contains));
    }
    out.printf(Locale.ROOT, "  warm-up: %d s of each (not counted)%n", settings.warmupSeconds());
    for (var w : workloads.entrySet()) {
      measure(w.getKey(), w.getValue(), settings.warmupSeconds());
      if (w.getKey().equals("POST /v1/files") && settings.verifying()) {
        awaitIngestDrained();
      }
    }
    Map<String, List<Figure>> rounds = new LinkedHashMap<>();
    workloads.keySet().forEach(name -> rounds.put(name, new ArrayList<>()));
    List<String> names = new ArrayList<>(workloads.keySet());
    for (int round = 0; round < settings.rounds(); round++) {
      out.printf(Locale.ROOT, "  round %d of %d (load average %s)%n", round + 1, settings.rounds(), InboxBench.loadAverage());
      for (int k = 0; k < names.size(); k++) {
        String name = names.get((k + round) % names.size());
        double statementsBefore = batchedStatements();
        Figure f = measure(name, workloads.get(name), settings.seconds());
        double statements = batchedStatements() - statementsBefore;
        if (name.equals("POST /v1/files") && settings.verifying()) {
          // The uploads' ingest jobs run after their 201s: wait until every one ended, and count that time and
          // the gateway's CPU meanwhile as the uploads' own, so no later workload pays for them.
          Cpu cpuBefore = cpuNow();
          long t0 = System.nanoTime();
          awaitIngestDrained();
          f = new Figure(f.name(), f.ok(), f.failed(), f.seconds(), f.cpu(), f.failures(), (System.nanoTime() - t0) / 1e9,
              cpuNow().minus(cpuBefore));
        }
        rounds.get(name).add(f);
        out.printf(Locale.ROOT, "    %-24s %8.0f /s  cpu ms/request: gateway %.3f (kernel %.3f)  bench+s3proxy %.3f  postgres %.3f  redis %.3f%s%s%n",
            name, f.perSecond(), f.gatewayCpuMsPerRequest(), f.gatewaySystemCpuMsPerRequest(), f.benchCpuMsPerRequest(), f.postgresCpuMsPerRequest(), f.redisCpuMsPerRequest(),
            f.settleSeconds() == 0 ? "" : String.format(Locale.ROOT, "  (+ %.1f s verifying them after: %.0f /s, gateway %.3f ms cpu/upload in all)",
                f.settleSeconds(), f.settledPerSecond(), f.settledGatewayCpuMsPerRequest()),
            f.failed() == 0 ? "" : "  failed " + f.failed() + " " + f.failures());
        if (name.equals("POST /v1/files") && statements > 0) {
          out.printf(Locale.ROOT, "      uploads per batched PostgreSQL statement (row + commit): %.2f%n", 2 * (f.ok() + f.failed()) / statements);
        }
      }
    }
    Map<String, Figure> totals = new LinkedHashMap<>();
    rounds.forEach((name, figures) -> {
      Map<String, Long> failures = new LinkedHashMap<>();
      figures.forEach(f -> f.failures().forEach((k, v) -> failures.merge(k, v, Long::sum)));
      totals.put(name, new Figure(name, figures.stream().mapToLong(Figure::ok).sum(), figures.stream().mapToLong(Figure::failed).sum(),
          figures.stream().mapToDouble(Figure::seconds).sum(), figures.stream().map(Figure::cpu).reduce(Cpu.ZERO, Cpu::plus), failures,
          figures.stream().mapToDouble(Figure::settleSeconds).sum(), figures.stream().map(Figure::settle).reduce(Cpu.ZERO, Cpu::plus)));
    });
    return totals;
  }

  /**
   * The upload-row and commit statements the gateway has sent ({@code wharf_upload_statements_total}); 0 for a
   * build without that metric.
   */
  private double batchedStatements() throws Exception {
    double sum = 0;
    for (String line : gateway.metrics().split("\n")) {
      if (line.startsWith("wharf_upload_statements_total{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** {@code connections} closed loops of {@code request} for {@code seconds}; counts answers, 2xx as ok. */
  private Figure measure(String name, IntFunction<Future<Integer>> request, int seconds) throws Exception {
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong sequence = new AtomicLong();
    Map<String, Long> failures = new java.util.concurrent.ConcurrentHashMap<>();
    Cpu cpuBefore = cpuNow();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < settings.connections(); c++) {
      Promise<Void> done = Promise.promise();
      loops.add(done.future());
      vertx.runOnContext(v -> loop(request, sequence, end, ok, failed, failures, done));
    }
    Future.all(loops).toCompletionStage().toCompletableFuture().get(seconds + 60L, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - start) / 1e9;
    return new Figure(name, ok.get(), failed.get(), elapsed, cpuNow().minus(cpuBefore), new LinkedHashMap<>(failures), 0, Cpu.ZERO);
  }

  /** Waits (up to ten minutes) until no ingest job is queued or running. */
  private void awaitIngestDrained() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (true) {
      long open = Blocking.await(pg.query("SELECT count(*) AS n FROM ingest_jobs WHERE status IN ('queued', 'active')").execute(),
          Duration.ofSeconds(30)).iterator().next().getLong("n");
      if (open == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(open + " ingest jobs still open after ten minutes");
      }
      Thread.sleep(20); // the benchmark driver's own thread, polling PostgreSQL with a deadline
    }
  }

  private void loop(IntFunction<Future<Integer>> request, AtomicLong sequence, long end, AtomicLong ok, AtomicLong failed,
      Map<String, Long> failures, Promise<Void> done) {
    if (System.nanoTime() >= end) {
      done.complete();
      return;
    }
    request.apply((int) (sequence.getAndIncrement() & Integer.MAX_VALUE)).onComplete(ar -> {
      if (ar.succeeded() && ar.result() / 100 == 2) {
        ok.incrementAndGet();
      } else {
        failed.incrementAndGet();
        failures.merge(ar.succeeded() ? Integer.toString(ar.result()) : ar.cause().getClass().getSimpleName(), 1L, Long::sum);
      }
      loop(request, sequence, end, ok, failed, failures, done);
    });
  }

  private static Future<Integer> send(HttpClientAgent client, RequestOptions options, Buffer body) {
    options.setIdleTimeout(30_000);
    return client.request(options)
        .compose(req -> body == null ? req.send() : req.send(body))
        .compose(resp -> resp.body().map(b -> resp.statusCode()));
  }

  /** Presigned PUT URLs for distinct keys, valid for an hour (cycled when a run needs more). */
  private List<String> presignedUrls(int count) {
    List<String> urls = new ArrayList<>(count);
    try (S3Presigner presigner = S3Presigner.builder()
        .region(Region.US_EAST_1)
        .endpointOverride(URI.create(servers.s3Endpoint()))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedServers.S3_ACCESS_KEY, EmbeddedServers.S3_SECRET_KEY)))
        .build()) {
      String prefix = "small-bench/" + UUID.randomUUID() + "/";
      for (int i = 0; i < count; i++) {
        String key = prefix + i + ".json";
        urls.add(presigner.presignPutObject(p -> p.signatureDuration(Duration.ofHours(1))
            .putObjectRequest(r -> r.bucket(EmbeddedServers.S3_BUCKET).key(key))).url().toString());
      }
    }
    return urls;
  }

  /** Stages {@code count} tiny deliveries to the device and acks each once; answers the ack URIs. */
  private List<String> stageAndAck(String sender, String deviceToken, int count) throws Exception {
    List<String> uris = new ArrayList<>();
    String boundary = "wharf-small-bench";
    for (int i = 0; i < count; i++) {
      String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d" + i + ".json\"\r\n"
          + "Content-Type: application/json\r\n\r\n" + BODY.toString(StandardCharsets.UTF_8) + "\r\n--" + boundary + "--\r\n";
      JsonObject staged = expect(201, () -> toGateway.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/devices/acker/deliveries")
          .putHeader("Authorization", "Bearer " + sender).putHeader("Content-Type", "multipart/form-data; boundary=" + boundary))
          .compose(req -> req.send(body)));
      String uri = "/v1/inbox/" + staged.getJsonArray("items").getJsonObject(0).getString("id") + "/ack";
      expect(200, () -> toGateway.request(new RequestOptions().setMethod(HttpMethod.POST).setURI(uri)
          .putHeader("Authorization", "Bearer " + deviceToken)).compose(req -> req.send()));
      uris.add(uri);
    }
    return uris;
  }

  /**
   * One exchange for the driver's thread, which then waits for its JSON answer. The exchange runs on an event loop:
   * composed on this thread, {@code resp.body()} could be called here while the event loop ends the response, and
   * Vert.x 5.0.8 then loses the end (eclipse-vertx/vert.x#6038) and the answer never comes, though the gateway
   * sent it (seen once in a few hundred stagings, checked with tcpdump).
   */
  private JsonObject expect(int status, java.util.function.Supplier<Future<io.vertx.core.http.HttpClientResponse>> exchange) throws Exception {
    Promise<JsonObject> answer = Promise.promise();
    vertx.runOnContext(v -> exchange.get().compose(resp -> resp.body().map(b -> {
      if (resp.statusCode() != status) {
        throw new IllegalStateException("expected " + status + ", got " + resp.statusCode() + ": " + b);
      }
      return b.toJsonObject();
    })).onComplete(answer));
    return answer.future().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private Cpu cpuNow() {
    return new Cpu(gateway.cpuSeconds(), gateway.systemCpuSeconds(), benchCpuSeconds(), ProcessCpu.ofCommand("postgres"), ProcessCpu.ofCommand("redis-server"));
  }

  private static double benchCpuSeconds() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime() / 1e9;
    }
    return Double.NaN;
  }

  @Override
  public void close() {
    try {
      pg.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      // best effort at the end of a run
    }
  }
}
