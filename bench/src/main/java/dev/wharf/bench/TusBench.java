package dev.wharf.bench;

import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.util.Locale;

/**
 * The resumable-upload benchmark (issue 7): a large upload through {@code /v1/tus} in fixed-size PATCHes
 * against a direct single PUT of the same bytes to the same S3 server, in turns; then the gateway's heap
 * sampled during one more tus upload.
 */
final class TusBench {

  /** Medians of the rounds (MB/s), the gateway's CPU per GB on the tus path, and the heap figures. */
  record Result(long size, long chunk, double tus, double singlePut, double gatewayCpuPerGb, long heapIdle, long heapPeak,
      long heapIdleBesideEden, long heapPeakBesideEden, boolean heapUploadOk) {}

  private final GatewayProcess gateway;
  private final DirectS3 direct;
  private final GeneratedBytes bytes;
  private final PrintStream log;
  private int sequence;

  TusBench(GatewayProcess gateway, DirectS3 direct, GeneratedBytes bytes, PrintStream log) {
    this.gateway = gateway;
    this.direct = direct;
    this.bytes = bytes;
    this.log = log;
  }

  Result run(long size, long chunk, int repeats) throws Exception {
    String sha256 = bytes.sha256(size);
    log.println("  warm-up round (not counted)");
    tus(size, chunk, sha256);
    singlePut(size);
    double[] tus = new double[repeats];
    double[] put = new double[repeats];
    double[] cpu = new double[repeats];
    for (int round = 0; round < repeats; round++) {
      for (int i = 0; i < 2; i++) {
        boolean tusFirst = (round + i) % 2 == 0;
        if (tusFirst) {
          double before = gateway.cpuSeconds();
          tus[round] = tus(size, chunk, sha256);
          cpu[round] = (gateway.cpuSeconds() - before) / (size / 1e9);
          log.printf(Locale.ROOT, "  %-28s round %d  %7.1f MB/s   gateway cpu %.2f s/GB%n", "tus, " + (chunk >> 20) + " MiB PATCHes", round + 1,
              tus[round], cpu[round]);
        } else {
          put[round] = singlePut(size);
          log.printf(Locale.ROOT, "  %-28s round %d  %7.1f MB/s%n", "direct S3 single PUT", round + 1, put[round]);
        }
      }
    }
    boolean gc = gateway.requestGc();
    long idle;
    long idleBesideEden;
    try (HeapWatch settle = HeapWatch.start(gateway, 100)) {
      settle.coverWindow(2_000, 100);
      idle = settle.min();
      idleBesideEden = settle.maxBesideEden();
    }
    HeapWatch watch = HeapWatch.start(gateway, 100);
    boolean ok = true;
    try {
      tus(size, chunk, sha256);
    } catch (Exception e) {
      ok = false;
      log.println("  heap round failed: " + e.getMessage());
    } finally {
      watch.close();
    }
    log.printf(Locale.ROOT, "  heap: GC requested %s, %d samples%n", gc ? "yes" : "no", watch.samples());
    return new Result(size, chunk, UploadBench.median(tus), UploadBench.median(put), UploadBench.median(cpu), idle, watch.max(),
        idleBesideEden, watch.maxBesideEden(), ok);
  }

  private double tus(long size, long chunk, String sha256) throws Exception {
    long t0 = System.nanoTime();
    JsonObject file = gateway.tusUpload(bytes, size, chunk, sha256, "tus-bench-" + (++sequence) + ".bin");
    double rate = size / 1e6 / ((System.nanoTime() - t0) / 1e9);
    if (file.getLong("size") != size || !sha256.equals(file.getString("sha256"))) {
      throw new IllegalStateException("tus stored " + file.getLong("size") + " bytes with sha256 " + file.getString("sha256"));
    }
    direct.delete(gateway.objectKey(file.getString("id")));
    return rate;
  }

  private double singlePut(long size) throws Exception {
    String key = "bench/tus-direct-put-" + (++sequence);
    long t0 = System.nanoTime();
    direct.singlePut(bytes, key, size);
    double rate = size / 1e6 / ((System.nanoTime() - t0) / 1e9);
    if (direct.size(key) != size) {
      throw new IllegalStateException(key + " holds the wrong size");
    }
    direct.delete(key);
    return rate;
  }
}
