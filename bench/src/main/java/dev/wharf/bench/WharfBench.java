package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The issue-2 benchmark, in one run on one machine: (a) upload throughput through a gateway process against
 * direct S3 uploads of the same bytes to the same server, (b) the gateway's heap above idle during a large
 * upload under {@code -Xmx256m}, (c) ingest queue claim+complete rate against {@code redis-benchmark}'s ZADD.
 * Prints one table and writes it to {@code OUT/results.txt}. With the first argument {@code inbox}, runs
 * {@link InboxBench} instead (the issue-3 benchmark; its table is appended to {@code OUT/inbox-results.txt}); with
 * {@code all}, both. See bench/README.md.
 *
 * <p>Options ({@code --name value}): {@code --gateway-jar gateway/target/wharf.jar}, {@code --out bench/target},
 * {@code --sizes-mib 64,512}, {@code --repeats 3}, {@code --heap-upload-mib 2048}, {@code --gateway-heap 256m},
 * {@code --part-size-mib 8}, {@code --parts-in-flight 2}, {@code --queue-jobs 20000}, {@code --queue-loops 8},
 * {@code --zadd-requests 100000}, {@code --zadd-clients 50}.
 */
public final class WharfBench {

  private final Map<String, String> options;
  private final PrintStream out = System.out;
  private final Teardown toClose = new Teardown("wharf-bench");

  private final String mode;

  private WharfBench(Map<String, String> options) {
    this.options = options;
    this.mode = options.getOrDefault("mode", "spine");
  }

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("mqtt")) {
      System.exit(MqttBench.main(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    WharfBench bench = new WharfBench(parse(args));
    Runtime.getRuntime().addShutdownHook(new Thread(bench.toClose::close, "wharf-bench-stop"));
    int status = 0;
    try {
      bench.run();
    } catch (Exception e) {
      System.err.println("wharf-bench: failed: " + e);
      e.printStackTrace();
      status = 1;
    } finally {
      bench.toClose.close();
    }
    System.exit(status);
  }

  private void run() throws Exception {
    Path jar = Path.of(option("gateway-jar", "gateway/target/wharf.jar"));
    Path outDir = Path.of(option("out", "bench/target"));
    Files.createDirectories(outDir);
    Path work = Files.createTempDirectory("wharf-bench");
    toClose.deleteTreeLater(work);
    out.println("starting embedded PostgreSQL, Redis and s3proxy in " + work);
    EmbeddedServers servers = EmbeddedServers.start(work.resolve("servers"));
    toClose.push(servers);
    if (mode.equals("spine") || mode.equals("all")) {
      runSpine(servers, jar, outDir);
    }
    if (mode.equals("inbox") || mode.equals("all")) {
      runInbox(servers, jar, outDir);
    }
    if (mode.equals("tus")) {
      runTus(servers, jar, outDir);
    }
    if (mode.equals("queue")) {
      runQueue(servers, jar, outDir);
    }
    if (mode.equals("small")) {
      runSmall(servers, jar, outDir);
    }
  }

  /**
   * The issue-11 queue benchmark: BullMQ's no-op rate against Wharf's queue alone on the same Redis, and presigned
   * GETs of tiny objects against ingest jobs/s of tiny uploads on the same s3proxy; appends to {@code queue-results.txt}.
   */
  private void runQueue(EmbeddedServers servers, Path jar, Path outDir) throws Exception {
    Map<String, String> extra = new LinkedHashMap<>();
    for (Map.Entry<String, String> o : options.entrySet()) {
      if (o.getKey().startsWith("WHARF_")) {
        extra.put(o.getKey(), o.getValue());
      }
    }
    IngestBench.Settings settings = new IngestBench.Settings(
        intOption("queue-jobs", 20_000),
        intOption("concurrency", 50),
        intOption("claim-batch", dev.wharf.config.IngestConfig.DEFAULT_CLAIM_BATCH),
        intOption("files", 3000),
        intOption("file-bytes", 1024),
        intOption("get-connections", 16),
        intOption("get-seconds", 5),
        intOption("ingest-workers", 1),
        intOption("ingest-concurrency", 16),
        extra);
    out.printf(Locale.ROOT, "queue benchmark: %s; load average %s%n", settings, InboxBench.loadAverage());
    IngestBench.Result r = new IngestBench(servers, jar, outDir, settings, out).run();

    ResultTable table = new ResultTable();
    table.add("BullMQ no-op jobs/s (concurrency " + settings.concurrency() + ")", fmt0(r.bullmqPerSecond()));
    table.add("Wharf queue claim+complete no-op jobs/s (same, claim batch " + settings.claimBatch() + ")", fmt0(r.wharfPerSecond()));
    table.add("ratio Wharf queue / BullMQ", fmt2(r.wharfPerSecond() / r.bullmqPerSecond()), ">= 1");
    table.add("presigned GETs/s of " + settings.fileBytes() + "-byte objects (" + settings.getConnections() + " connections)",
        fmt0(r.presignedGetsPerSecond()));
    table.add("ingest jobs/s, " + r.ingestJobs() + " uploads of " + settings.fileBytes() + " bytes (workers " + settings.ingestWorkers()
        + ", concurrency " + settings.ingestConcurrency() + ")", fmt0(r.ingestPerSecond()));
    table.add("ratio ingest jobs / presigned GETs", fmt3(r.ingestPerSecond() / r.presignedGetsPerSecond()), ">= 0.1");
    table.add("jobs succeeded / ended", r.ingestSucceeded() + " / " + r.ingestJobs());
    table.add("mean attempt, started_at -> finished_at (ms)", fmt1(r.attemptMillis()));
    table.add("uploads/s through a gateway without workers (16 clients)", fmt0(r.uploadsPerSecond()));
    table.add("load average after", InboxBench.loadAverage());
    appendResults(outDir, "queue", table, settings.toString());
  }

  /**
   * The issue-11 benchmark: small requests at a fixed concurrency, the gateway's rate and CPU per request against
   * presigned PUTs straight to s3proxy and against {@code GET /healthz}; appends its table to {@code small-results.txt}.
   */
  private void runSmall(EmbeddedServers servers, Path jar, Path outDir) throws Exception {
    String gatewayHeap = option("gateway-heap", "256m");
    Path gatewayLog = outDir.resolve("gateway-small.log");
    Map<String, String> env = new java.util.HashMap<>();
    // --gateway-env WHARF_AUTH_CACHE_TTL=0s,...: settings of the child, e.g. to measure with a change turned off
    for (String pair : option("gateway-env", "").split(",")) {
      if (!pair.isBlank()) {
        int eq = pair.indexOf('=');
        if (eq < 1 || !pair.startsWith("WHARF_")) {
          throw new IllegalArgumentException("--gateway-env takes WHARF_NAME=value pairs separated by commas (at: " + pair + ")");
        }
        env.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
      }
    }
    SmallBench.Settings settings = new SmallBench.Settings(intOption("connections", 16), intOption("seconds", 10),
        intOption("warmup-seconds", 3), intOption("rounds", 2), intOption("presigned-keys", 4096), intOption("ack-deliveries", 64),
        java.util.Arrays.stream(option("only", "").split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList(),
        !"0".equals(env.getOrDefault("WHARF_INGEST_WORKERS", "0")));
    List<String> javaOptions = new ArrayList<>();
    String jfr = options.get("jfr");
    if (jfr != null) {
      // A flight recording of the gateway child, for profiling: jfr print --events jdk.ExecutionSample FILE
      javaOptions.add("-XX:StartFlightRecording=filename=" + Path.of(jfr).toAbsolutePath() + ",settings=profile");
    }
    // --gateway-java-options '-agentpath:…': JVM options of the child (a native profiler, for instance)
    javaOptions.add(option("gateway-java-options", ""));
    javaOptions.removeIf(String::isBlank);
    if (!javaOptions.isEmpty()) {
      env.put("JAVA_TOOL_OPTIONS", String.join(" ", javaOptions));
    }
    out.println("starting the gateway: java -Xmx" + gatewayHeap + " -jar " + jar + " serve  (log: " + gatewayLog + ")");
    GatewayProcess gateway = GatewayProcess.start(jar, gatewayHeap, servers, env, gatewayLog);
    toClose.push(gateway);
    out.printf(Locale.ROOT, "(f) small requests: %d connections, %d s per workload, %d rounds; gateway settings %s; load average %s%n",
        settings.connections(), settings.seconds(), settings.rounds(), env.keySet().stream().filter(k -> k.startsWith("WHARF_")).map(k -> k + "=" + env.get(k)).toList(),
        InboxBench.loadAverage());
    Map<String, SmallBench.Figure> f;
    try (SmallBench bench = new SmallBench(servers, gateway, settings, out)) {
      f = bench.run();
    }
    gateway.close();
    if (!settings.only().isEmpty()) {
      out.println("(--only " + settings.only() + ": the per-round lines above are the figures; no ratios without every workload)");
      return;
    }

    ResultTable table = new ResultTable();
    SmallBench.Figure put = f.get("presigned PUT");
    SmallBench.Figure upload = f.get("POST /v1/files");
    SmallBench.Figure health = f.get("GET /healthz");
    table.add("presigned PUT straight to s3proxy, 23 B (/s)", fmt0(put.perSecond()));
    table.add("POST /v1/files via gateway, 23 B (/s)", fmt0(upload.perSecond()));
    table.add("ratio gateway/presigned PUT", fmt2(upload.perSecond() / put.perSecond()), ">= 0.5");
    if (settings.verifying()) {
      table.add("POST /v1/files verified, 23 B (/s; uploads / (time + drain))", fmt0(upload.settledPerSecond()));
      table.add("ratio verified/presigned PUT", fmt2(upload.settledPerSecond() / put.perSecond()));
      table.add("gateway cpu per upload, answered / with its ingest (ms)", fmt3(upload.gatewayCpuMsPerRequest()) + " / "
          + fmt3(upload.settledGatewayCpuMsPerRequest()));
    } else {
      table.add("gateway cpu per upload (ms)", fmt3(upload.gatewayCpuMsPerRequest()));
    }
    table.add("bench+s3proxy cpu per request, presigned / via gateway (ms)", fmt3(put.benchCpuMsPerRequest()) + " / "
        + fmt3(upload.benchCpuMsPerRequest()));
    table.add("postgres + redis cpu per upload via gateway (ms)", fmt3(upload.postgresCpuMsPerRequest()) + " + "
        + fmt3(upload.redisCpuMsPerRequest()));
    table.add("all processes' cpu per request, presigned / via gateway (ms)", fmt3(put.allCpuMsPerRequest()) + " / "
        + fmt3(upload.allCpuMsPerRequest()));
    table.add("GET /healthz (/s)", fmt0(health.perSecond()));
    table.add("gateway cpu per GET /healthz (ms)", fmt3(health.gatewayCpuMsPerRequest()));
    for (String name : List.of("GET /v1/inbox", "POST /v1/inbox/{id}/ack")) {
      SmallBench.Figure x = f.get(name);
      String label = name.equals("GET /v1/inbox") ? "GET /v1/inbox (empty, wait=0)" : "POST /v1/inbox/{id}/ack (repeat)";
      table.add(label + " (/s)", fmt0(x.perSecond()));
      table.add("gateway cpu per " + name + " (ms)", fmt3(x.gatewayCpuMsPerRequest()));
      table.add("ratio cpu " + name + " / healthz", fmt2(x.gatewayCpuMsPerRequest() / health.gatewayCpuMsPerRequest()), "<= 3");
    }
    StringBuilder failures = new StringBuilder();
    f.values().forEach(x -> {
      if (x.failed() > 0) {
        failures.append(x.name()).append(' ').append(x.failures()).append("; ");
      }
    });
    table.add("failed requests", failures.length() == 0 ? "0" : failures.toString(), "0");
    table.add("load average after", InboxBench.loadAverage());
    appendResults(outDir, "small", table, settings + ", gateway env " + option("gateway-env", "-"));
  }

  /**
   * The issue-7 benchmark: a large upload through /v1/tus in fixed PATCHes against a direct single PUT of the same
   * bytes to the same s3proxy, then the gateway heap during one more; appends its table to {@code tus-results.txt}.
   */
  private void runTus(EmbeddedServers servers, Path jar, Path outDir) throws Exception {
    long size = (long) intOption("tus-size-mib", 1024) << 20;
    long chunk = (long) intOption("tus-chunk-mib", 8) << 20;
    int repeats = intOption("repeats", 3);
    String gatewayHeap = option("gateway-heap", "256m");
    int partSize = intOption("part-size-mib", 8) << 20;
    Path gatewayLog = outDir.resolve("gateway-tus.log");
    out.println("starting the gateway: java -Xmx" + gatewayHeap + " -jar " + jar + " serve  (log: " + gatewayLog + ")");
    GatewayProcess gateway = GatewayProcess.start(jar, gatewayHeap, servers, Map.of(
        "WHARF_S3_PART_SIZE", (partSize >> 20) + "MiB", "WHARF_UPLOADS_MAX_FILE_BYTES", "64GiB"), gatewayLog);
    toClose.push(gateway);
    gateway.createDevice();
    DirectS3 direct = new DirectS3(servers, partSize);
    toClose.push(direct);
    out.printf(Locale.ROOT, "(e) tus: %d MiB in %d MiB PATCHes vs one direct PUT, %d rounds, gateway -Xmx%s, part size %d MiB%n",
        size >> 20, chunk >> 20, repeats, gatewayHeap, partSize >> 20);
    TusBench.Result r = new TusBench(gateway, direct, new GeneratedBytes(7), out).run(size, chunk, repeats);
    gateway.close();

    ResultTable table = new ResultTable();
    String label = " (" + (size >> 20) + " MiB, " + (chunk >> 20) + " MiB PATCHes)";
    table.add("tus upload via gateway" + label + " MB/s", fmt1(r.tus()));
    table.add("direct S3 single PUT (MB/s)", fmt1(r.singlePut()));
    table.add("ratio tus/single PUT", fmt2(r.tus() / r.singlePut()));
    table.add("gateway cpu s/GB on the tus path", fmt2(r.gatewayCpuPerGb()));
    table.add("gateway heap idle / peak during a tus upload", fmtMib(r.heapIdle()) + " / " + fmtMib(r.heapPeak()));
    table.add("peak heap above idle", fmtMib(r.heapPeak() - r.heapIdle()), "< 64 MiB");
    table.add("  same, survivor+old only (no eden)", fmtMib(r.heapPeakBesideEden() - r.heapIdleBesideEden()));
    table.add("heap-round upload complete, size and sha256 match", r.heapUploadOk() ? "yes" : "NO", "yes");
    appendResults(outDir, "tus", table, "gateway -Xmx" + gatewayHeap);
  }

  /** The issue-2 benchmark: (a) upload throughput, (b) heap during a large upload, (c) queue rate; writes results.txt. */
  private void runSpine(EmbeddedServers servers, Path jar, Path outDir) throws Exception {
    List<Long> sizes = new ArrayList<>();
    for (String s : option("sizes-mib", "64,512").split(",")) {
      sizes.add(Long.parseLong(s.trim()) << 20);
    }
    int repeats = intOption("repeats", 3);
    long heapUpload = (long) intOption("heap-upload-mib", 2048) << 20;
    String gatewayHeap = option("gateway-heap", "256m");
    int partSize = intOption("part-size-mib", 8) << 20;
    int partsInFlight = intOption("parts-in-flight", 2);
    int queueJobs = intOption("queue-jobs", 20_000);
    int queueLoops = intOption("queue-loops", 8);
    int zaddRequests = intOption("zadd-requests", 100_000);
    int zaddClients = intOption("zadd-clients", 50);

    ResultTable table = new ResultTable();
    GeneratedBytes bytes = new GeneratedBytes(2);
    Path gatewayLog = outDir.resolve("gateway.log");
    out.println("starting the gateway: java -Xmx" + gatewayHeap + " -jar " + jar + " serve  (log: " + gatewayLog + ")");
    GatewayProcess gateway = GatewayProcess.start(jar, gatewayHeap, servers, Map.of(
        "WHARF_S3_PART_SIZE", (partSize >> 20) + "MiB",
        "WHARF_S3_PARTS_IN_FLIGHT", Integer.toString(partsInFlight)), gatewayLog);
    toClose.push(gateway);
    gateway.createDevice();
    DirectS3 direct = new DirectS3(servers, partSize);
    toClose.push(direct);
    UploadBench uploads = new UploadBench(gateway, direct, bytes, partSize, partsInFlight, out);

    out.printf(Locale.ROOT, "(a) upload throughput: part size %d MiB, %d parts in flight, %d rounds per size%n",
        partSize >> 20, partsInFlight, repeats);
    out.println("  warm-up round (not counted)");
    uploads.warmUp(sizes.get(0));
    List<UploadBench.Throughput> throughputs = new ArrayList<>();
    for (long size : sizes) {
      throughputs.add(uploads.throughput(size, repeats));
    }
    for (UploadBench.Throughput t : throughputs) {
      String mib = (t.size() >> 20) + " MiB";
      table.add("upload via gateway    (" + mib + ", MB/s)", fmt1(t.gateway()));
      table.add("direct S3 multipart   (" + mib + ", MB/s)", fmt1(t.multipart()));
      table.add("direct S3 single PUT  (" + mib + ", MB/s)", fmt1(t.singlePut()));
      table.add("ratio gateway/multipart (" + mib + ")", fmt2(t.gateway() / t.multipart()), ">= 0.9");
      table.add("ratio gateway/single PUT (" + mib + ")", fmt2(t.gateway() / t.singlePut()), "");
      table.add("cpu s/GB gateway+bench vs multipart (" + mib + ")", String.format(Locale.ROOT, "%.2f+%.2f vs %.2f",
          t.gatewayCpuPerGb(), t.gatewayBenchCpuPerGb(), t.multipartBenchCpuPerGb()));
    }

    out.printf(Locale.ROOT, "(b) gateway heap during a %d MiB upload (-Xmx%s), /metrics every 100 ms%n", heapUpload >> 20, gatewayHeap);
    UploadBench.Heap heap = uploads.heapDuring(heapUpload, 2_000, 100);
    out.printf(Locale.ROOT, "  GC requested: %s; idle %.1f MiB, peak %.1f MiB; %d samples (%d failed); upload %s%n",
        heap.gcRequested() ? "yes (jcmd GC.run)" : "no (jcmd unavailable)", mib(heap.idle()), mib(heap.peak()),
        heap.samples(), heap.failedSamples(), heap.uploadOk() ? "ok" : "FAILED: " + heap.uploadProblem());
    String heapLabel = " (" + (heapUpload >> 20) + " MiB upload)";
    table.add("gateway heap idle" + heapLabel, fmtMib(heap.idle()));
    table.add("gateway heap peak" + heapLabel, fmtMib(heap.peak()));
    table.add("peak heap above idle" + heapLabel, fmtMib(heap.peak() - heap.idle()), "< 64 MiB");
    table.add("  same, survivor+old only (no eden)", fmtMib(heap.peakBesideEden() - heap.idleBesideEden()));
    table.add("upload 201, size and sha256 match" + heapLabel, heap.uploadOk() ? "yes" : "NO", "yes");
    if (heap.idleRssKiB() > 0) {
      table.add("gateway RSS idle / high-water (MiB)", String.format(Locale.ROOT, "%d / %d", heap.idleRssKiB() >> 10,
          heap.rssHighWaterKiB() >> 10));
    }
    gateway.close();

    out.printf(Locale.ROOT, "(c) ingest queue: %d jobs, %d concurrent loops; redis-benchmark -t zadd -n %d -c %d%n",
        queueJobs, queueLoops, zaddRequests, zaddClients);
    QueueBench.Result queue = QueueBench.run(servers.redisUri(), queueJobs, queueLoops);
    if (queue.completed() != queueJobs) {
      throw new IllegalStateException("the queue handed out " + queue.completed() + " of " + queueJobs + " jobs");
    }
    double zadd = QueueBench.zaddRate(servers.redisPort(), zaddRequests, zaddClients, outDir.resolve("redis-benchmark.txt"));
    table.add("queue enqueue /s (" + queueLoops + " loops)", fmt0(queue.enqueuedPerSecond()));
    table.add("queue claim+complete /s (" + queueLoops + " loops)", fmt0(queue.completedPerSecond()));
    if (zadd > 0) {
      table.add("redis-benchmark ZADD /s (-c " + zaddClients + ")", fmt0(zadd));
      table.add("ratio queue/ZADD", fmt3(queue.completedPerSecond() / zadd));
    } else {
      out.println("  redis-benchmark is not on the PATH (Debian package redis-tools): ZADD rate and ratio skipped");
      table.add("redis-benchmark ZADD /s", "skipped (no redis-benchmark)");
      table.add("ratio queue/ZADD", "n/a");
    }

    String rendered = table.render();
    out.println();
    out.print(rendered);
    String header = "# wharf-bench, " + java.time.OffsetDateTime.now().withNano(0) + ", " + Runtime.getRuntime().availableProcessors()
        + " cores, java " + System.getProperty("java.version") + "\n";
    Files.writeString(outDir.resolve("results.txt"), header + rendered);
    out.println();
    out.println("written to " + outDir.resolve("results.txt"));
  }

  /**
   * The issue-3 benchmark: N idle long-polls held on one gateway, its memory per held poll, and the latency from a
   * staging to the held poll's answer. Appends its table to {@code inbox-results.txt}.
   */
  private void runInbox(EmbeddedServers servers, Path jar, Path outDir) throws Exception {
    InboxBench.Settings settings = new InboxBench.Settings(
        intOption("polls", 10_000),
        intOption("samples", 200),
        intOption("batch", 500),
        intOption("wait", 55),
        intOption("pool-size", 32),
        intOption("device-concurrency", 16),
        intOption("sample-gap-ms", 100),
        intOption("warmup-polls", 500),
        option("inbox-gateway-heap", "512m"));
    out.printf(Locale.ROOT, "(d) inbox long-polls: %s; open-file limit %d; load average %s%n", settings, InboxBench.openFileLimit(),
        InboxBench.loadAverage());
    InboxBench bench = new InboxBench(servers, jar, outDir, settings, out);
    toClose.push(bench);
    InboxBench.Result r;
    try {
      r = bench.run();
    } finally {
      bench.close();
    }

    ResultTable table = new ResultTable();
    String n = Integer.toString(r.heldAtMeasure());
    table.add("held polls at the memory sample (asked " + r.pollsAsked() + ")", n, ">= 10000");
    table.add("gateway RSS, 0 polls held (after GC)", fmtKiB(r.rssIdleKiB()));
    table.add("gateway RSS, " + n + " polls held (after GC)", fmtKiB(r.rssHeldKiB()));
    table.add("RSS per held poll (KiB)", fmt1(r.rssPerPollKiB()));
    table.add("gateway heap used, 0 / " + n + " polls (after GC)", String.format(Locale.ROOT, "%.1f / %.1f MiB", mib(r.heapIdle()),
        mib(r.heapHeld())));
    table.add("heap per held poll (KiB)", fmt1(r.heapPerPollKiB()));
    table.add("gateway RSS high-water (VmHWM)", fmtKiB(r.rssHighWaterKiB()));
    table.add("probes answered by their held poll", r.probesAnswered() + " / " + r.probes(), "all");
    table.add("created_at -> poll answer p50/p99/max (ms)", fmtLatency(r.fromCreatedAt()));
    table.add("201 received -> poll answer p50/p99/max (ms)", fmtLatency(r.from201()) + " (min " + fmt1(r.from201().min()) + ")");
    table.add("staging request p50/p99/max (ms)", fmtLatency(r.staging()));
    int errors = r.pollErrors().values().stream().mapToInt(Integer::intValue).sum();
    table.add("non-200 poll answers / failed polls", errors + (errors == 0 ? "" : " " + r.pollErrors()), "0");
    table.add("other failures (staging, mismatch, ack, unexpected)", String.format(Locale.ROOT, "%d, %d, %d, %d", r.stagingFailures(),
        r.probesMismatched(), r.ackFailures(), r.unexpectedAnswers()), "0, 0, 0, 0");
    table.add("polls ended at their deadline (re-issued)", Integer.toString(r.deadlineAnswers()), ">= " + (r.pollsAsked() - r.probes()));
    table.add("fewest held during that wave / held after it", r.minHeldInCycle() + " / " + r.heldAfterCycle());
    table.add("gateway RSS / heap used after that wave (after GC)", fmtKiB(r.rssAfterCycleKiB()) + " / " + fmtMib(r.heapAfterCycle()));
    table.add("ramp: open " + r.pollsAsked() + " polls in batches of " + settings.batch() + " (s)", fmt1(r.rampSeconds()));
    table.add("device creation (/s, " + settings.deviceConcurrency() + " at a time)", fmt0(r.devicesPerSecond()));
    table.add("polls released after the client closed (s)", fmt1(r.releaseSeconds()));
    table.add("load average before / after", r.loadBefore() + " / " + r.loadAfter());

    appendResults(outDir, "inbox", table, "gateway -Xmx" + settings.gatewayHeap() + ", postgres.pool-size "
        + settings.poolSize() + ", wait=" + settings.waitSeconds());
  }

  private static String fmtKiB(long kib) {
    return String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
  }

  private static String fmtLatency(InboxBench.Latency l) {
    return String.format(Locale.ROOT, "%.1f / %.1f / %.1f", l.p50(), l.p99(), l.max());
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new LinkedHashMap<>();
    int first = 0;
    if (args.length > 0 && !args[0].startsWith("--")) {
      if (!List.of("spine", "inbox", "all", "tus", "queue", "small").contains(args[0])) {
        throw new IllegalArgumentException("the benchmark is spine (the default), inbox, tus, queue, small or all; see bench/README.md (at: " + args[0] + ")");
      }
      options.put("mode", args[0]);
      first = 1;
    }
    for (int i = first; i < args.length; i++) {
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

  private static double mib(long bytes) {
    return bytes / 1048576.0;
  }

  private static String fmtMib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", mib(bytes));
  }

  private static String fmt0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }

  private static String fmt1(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static String fmt2(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String fmt3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  /**
   * Prints {@code table} and appends it to {@code MODE-results.txt} in {@code outDir} under a header naming the
   * run (time, cores, Java, and {@code details}: the mode's settings).
   */
  private void appendResults(Path outDir, String mode, ResultTable table, String details) throws java.io.IOException {
    String rendered = table.render();
    out.println();
    out.print(rendered);
    String header = "# wharf-bench " + mode + ", " + java.time.OffsetDateTime.now().withNano(0) + ", " + Runtime.getRuntime().availableProcessors()
        + " cores, java " + System.getProperty("java.version") + ", " + details + "\n";
    Path results = outDir.resolve(mode + "-results.txt");
    Files.writeString(results, header + rendered + "\n", java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    out.println();
    out.println("appended to " + results);
  }

}
