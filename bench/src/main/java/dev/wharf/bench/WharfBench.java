package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The issue-2 benchmark, in one run on one machine: (a) upload throughput through a gateway process against
 * direct S3 uploads of the same bytes to the same server, (b) the gateway's heap above idle during a large
 * upload under {@code -Xmx256m}, (c) ingest queue claim+complete rate against {@code redis-benchmark}'s ZADD.
 * Prints one table and writes it to {@code OUT/results.txt}. See bench/README.md.
 *
 * <p>Options ({@code --name value}): {@code --gateway-jar gateway/target/wharf.jar}, {@code --out bench/target},
 * {@code --sizes-mib 64,512}, {@code --repeats 3}, {@code --heap-upload-mib 2048}, {@code --gateway-heap 256m},
 * {@code --part-size-mib 8}, {@code --parts-in-flight 2}, {@code --queue-jobs 20000}, {@code --queue-loops 8},
 * {@code --zadd-requests 100000}, {@code --zadd-clients 50}.
 */
public final class WharfBench {

  private final Map<String, String> options;
  private final PrintStream out = System.out;
  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  private WharfBench(Map<String, String> options) {
    this.options = options;
  }

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("mqtt")) {
      System.exit(MqttBench.main(java.util.Arrays.copyOfRange(args, 1, args.length)));
    }
    WharfBench bench = new WharfBench(parse(args));
    Runtime.getRuntime().addShutdownHook(new Thread(bench::closeAll, "wharf-bench-stop"));
    int status = 0;
    try {
      bench.run();
    } catch (Exception e) {
      System.err.println("wharf-bench: failed: " + e);
      e.printStackTrace();
      status = 1;
    } finally {
      bench.closeAll();
    }
    System.exit(status);
  }

  private void run() throws Exception {
    Path jar = Path.of(option("gateway-jar", "gateway/target/wharf.jar"));
    Path outDir = Path.of(option("out", "bench/target"));
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
    Files.createDirectories(outDir);

    Path work = Files.createTempDirectory("wharf-bench");
    toClose.push(() -> deleteTree(work));
    out.println("starting embedded PostgreSQL, Redis and s3proxy in " + work);
    EmbeddedServers servers = EmbeddedServers.start(work.resolve("servers"));
    toClose.push(servers);

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

  /** Stops the gateway, the clients and the servers, last started first; safe to call twice. */
  private void closeAll() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    while (!toClose.isEmpty()) {
      AutoCloseable next = toClose.pop();
      try {
        next.close();
      } catch (Exception e) {
        System.err.println("wharf-bench: could not stop " + next + ": " + e);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
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
}
