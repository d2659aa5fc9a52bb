package dev.wharf.bench;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;

/**
 * Uploads through the gateway process and straight to S3, interleaved, and the gateway's heap during one
 * large upload. Every gateway upload is checked (201, size and SHA-256 as sent) and every object is deleted
 * after its run, so the disk holds about one upload at a time.
 */
final class UploadBench {

  /**
   * Medians over the repeats for one size: MB/s (10^6 bytes per second), and CPU seconds per GB (10^9 bytes)
   * of the gateway process and of the benchmark process (client, and s3proxy, which runs in it).
   */
  record Throughput(long size, double gateway, double multipart, double singlePut,
      double gatewayCpuPerGb, double gatewayBenchCpuPerGb, double multipartBenchCpuPerGb) {}

  /** Heap figures of the gateway around one large upload, bytes. */
  record Heap(long size, long idle, long peak, long idleBesideEden, long peakBesideEden, boolean gcRequested, int samples, int failedSamples, boolean uploadOk,
      String uploadProblem, long idleRssKiB, long rssHighWaterKiB) {}

  private final GatewayProcess gateway;
  private final DirectS3 direct;
  private final GeneratedBytes bytes;
  private final int partSize;
  private final int partsInFlight;
  private final PrintStream log;
  private int sequence;

  UploadBench(GatewayProcess gateway, DirectS3 direct, GeneratedBytes bytes, int partSize, int partsInFlight, PrintStream log) {
    this.gateway = gateway;
    this.direct = direct;
    this.bytes = bytes;
    this.partSize = partSize;
    this.partsInFlight = partsInFlight;
    this.log = log;
  }

  /** One untimed round of each kind, so class loading and the first JIT passes fall outside the figures. */
  void warmUp(long size) throws Exception {
    String sha256 = bytes.sha256(size);
    gatewayUpload(size, sha256);
    multipart(size);
    singlePut(size);
  }

  /**
   * {@code repeats} rounds of gateway upload, direct multipart and direct single PUT of {@code size} bytes; the
   * order rotates each round, so drift in the machine's load falls on each kind alike.
   */
  Throughput throughput(long size, int repeats) throws Exception {
    String sha256 = bytes.sha256(size);
    double[][] rates = new double[3][repeats];
    double[][] benchCpu = new double[3][repeats];
    double[] gatewayCpu = new double[repeats];
    double gb = size / 1e9;
    for (int round = 0; round < repeats; round++) {
      for (int i = 0; i < 3; i++) {
        int kind = (round + i) % 3;
        double gatewayBefore = gateway.cpuSeconds();
        double benchBefore = benchCpuSeconds();
        double rate = switch (kind) {
          case 0 -> gatewayUpload(size, sha256);
          case 1 -> multipart(size);
          default -> singlePut(size);
        };
        double gatewaySpent = gateway.cpuSeconds() - gatewayBefore;
        rates[kind][round] = rate;
        benchCpu[kind][round] = (benchCpuSeconds() - benchBefore) / gb;
        if (kind == 0) {
          gatewayCpu[round] = gatewaySpent / gb;
        }
        log.printf(Locale.ROOT, "  %-24s %4d MiB  round %d  %7.1f MB/s   cpu s/GB: gateway %5.2f, bench JVM %5.2f%n",
            new String[] {"gateway POST /v1/files", "direct S3 multipart", "direct S3 single PUT"}[kind],
            size >> 20, round + 1, rate, gatewaySpent / gb, benchCpu[kind][round]);
      }
    }
    return new Throughput(size, median(rates[0]), median(rates[1]), median(rates[2]),
        median(gatewayCpu), median(benchCpu[0]), median(benchCpu[1]));
  }

  /**
   * Asks the gateway for a full GC, takes the least heap used over {@code settleMillis} as its idle heap, then
   * samples it every {@code periodMillis} during one upload of {@code size} bytes.
   */
  Heap heapDuring(long size, long settleMillis, long periodMillis) throws Exception {
    String sha256 = bytes.sha256(size);
    boolean gc = gateway.requestGc();
    long idle;
    long idleBesideEden;
    try (HeapWatch settle = HeapWatch.start(gateway, periodMillis)) {
      settle.coverWindow(settleMillis, periodMillis);
      idle = settle.min();
      idleBesideEden = settle.maxBesideEden();
    }
    long idleRss = gateway.procStatusKiB("VmRSS");
    HeapWatch watch = HeapWatch.start(gateway, periodMillis);
    boolean ok = true;
    String problem = "";
    try {
      gatewayUpload(size, sha256);
    } catch (IOException | IllegalStateException e) {
      ok = false;
      problem = e.getMessage();
    } finally {
      watch.close();
    }
    return new Heap(size, idle, watch.max(), idleBesideEden, watch.maxBesideEden(), gc, watch.samples(), watch.failures(), ok, problem, idleRss,
        gateway.procStatusKiB("VmHWM"));
  }

  private double gatewayUpload(long size, String sha256) throws Exception {
    long t0 = System.nanoTime();
    JsonObject file = gateway.upload(bytes, size, "bench-" + (++sequence) + ".bin");
    double rate = rate(size, System.nanoTime() - t0);
    if (file.getLong("size") != size || !sha256.equals(file.getString("sha256"))) {
      throw new IllegalStateException("gateway stored " + file.getLong("size") + " bytes with sha256 " + file.getString("sha256")
          + ", sent " + size + " bytes with sha256 " + sha256);
    }
    direct.delete(gateway.objectKey(file.getString("id")));
    return rate;
  }

  private double multipart(long size) throws Exception {
    String key = "bench/direct-multipart-" + (++sequence);
    long t0 = System.nanoTime();
    direct.multipart(bytes, key, size, partSize, partsInFlight);
    return checkedRate(key, size, System.nanoTime() - t0);
  }

  private double singlePut(long size) throws Exception {
    String key = "bench/direct-put-" + (++sequence);
    long t0 = System.nanoTime();
    direct.singlePut(bytes, key, size);
    return checkedRate(key, size, System.nanoTime() - t0);
  }

  private double checkedRate(String key, long size, long nanos) throws Exception {
    long stored = direct.size(key);
    if (stored != size) {
      throw new IllegalStateException(key + " holds " + stored + " bytes, sent " + size);
    }
    direct.delete(key);
    return rate(size, nanos);
  }

  /** CPU seconds this JVM has used: the upload client, and s3proxy, which runs in it. */
  private static double benchCpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
  }

  private static double rate(long bytes, long nanos) {
    return bytes / 1e6 / (nanos / 1e9);
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
