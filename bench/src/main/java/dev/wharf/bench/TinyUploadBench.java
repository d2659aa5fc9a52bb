package dev.wharf.bench;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Per-request cost of tiny uploads (issue 11): many {@code POST /v1/files} of a 23-byte body through a gateway
 * child against presigned {@code PUT}s of the same body straight to the same s3proxy, in alternating rounds, from
 * one Vert.x HttpClient in this JVM with {@code --concurrency} requests in flight. Prints requests per second of
 * each, their ratio, and the gateway's CPU seconds per upload ({@code /proc/PID/stat} before and after each
 * gateway round). With {@code --jfr PATH} the gateway records a JFR profile there. With {@code --gateway-jar-b JAR} a
 * second gateway (another build) runs on the same servers and takes its turn in every round, so two builds are
 * compared side by side in one run.
 *
 * <p>Run after {@code ./bench/run.sh} built the jars:
 * {@code java -Xmx1g -cp bench/target/wharf-bench.jar dev.wharf.bench.TinyUploadBench --requests 3000}.
 */
public final class TinyUploadBench {

  private static final Buffer BODY = Buffer.buffer("tiny body of 23 bytes.\n");

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new java.util.LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      options.put(args[i].substring(2), args[i + 1]);
    }
    int requests = Integer.parseInt(options.getOrDefault("requests", "3000"));
    int concurrency = Integer.parseInt(options.getOrDefault("concurrency", "16"));
    int rounds = Integer.parseInt(options.getOrDefault("rounds", "3"));
    Path jar = Path.of(options.getOrDefault("gateway-jar", "gateway/target/wharf.jar"));
    Path outDir = Path.of(options.getOrDefault("out", "bench/target"));
    String jfr = options.get("jfr");
    Files.createDirectories(outDir);
    Teardown toClose = new Teardown("tiny-bench");
    int status = 0;
    try {
      Path work = Files.createTempDirectory("wharf-tiny");
      toClose.deleteTreeLater(work);
      EmbeddedServers servers = EmbeddedServers.start(work.resolve("servers"));
      toClose.push(servers);
      List<String> jvm = jfr == null ? List.of() : List.of("-XX:StartFlightRecording=filename=" + jfr + ",settings=profile");
      GatewayProcess gateway = GatewayProcess.start(jar, "256m", servers, Map.of(), outDir.resolve("gateway-tiny.log"), jvm);
      toClose.push(gateway);
      gateway.createDevice();
      String jarB = options.get("gateway-jar-b");
      GatewayProcess gatewayB = null;
      if (jarB != null) {
        gatewayB = GatewayProcess.start(Path.of(jarB), "256m", servers, Map.of(), outDir.resolve("gateway-tiny-b.log"), List.of());
        toClose.push(gatewayB);
        gatewayB.createDevice();
      }
      S3Presigner presigner = S3Presigner.builder()
          .region(Region.US_EAST_1)
          .credentialsProvider(StaticCredentialsProvider.create(
              AwsBasicCredentials.create(EmbeddedServers.S3_ACCESS_KEY, EmbeddedServers.S3_SECRET_KEY)))
          .endpointOverride(URI.create(servers.s3Endpoint()))
          .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
          .build();
      toClose.push(presigner);
      Vertx vertx = Vertx.vertx();
      toClose.push(() -> vertx.close().await());
      HttpClient http = vertx.createHttpClient(new PoolOptions().setHttp1MaxSize(concurrency));

      IntFunction<RequestOptions> viaGateway = posts(gateway);
      IntFunction<RequestOptions> viaGatewayB = gatewayB == null ? null : posts(gatewayB);
      String runId = Long.toString(System.nanoTime(), 36);
      IntFunction<RequestOptions> presigned = i -> {
        URL url = presigner.presignPutObject(p -> p.signatureDuration(Duration.ofMinutes(30))
            .putObjectRequest(o -> o.bucket(EmbeddedServers.S3_BUCKET).key("tiny/" + runId + "/" + i))).url();
        return new RequestOptions().setMethod(HttpMethod.PUT).setAbsoluteURI(url.toString());
      };

      System.out.printf(Locale.ROOT, "tiny uploads: %d requests a round, %d in flight, %d rounds (+1 warm-up)%n", requests, concurrency, rounds);
      run(http, viaGateway, Math.min(requests, 1000), concurrency, 201);
      run(http, presigned, Math.min(requests, 1000), concurrency, 200);
      if (gatewayB != null) {
        run(http, viaGatewayB, Math.min(requests, 1000), concurrency, 201);
      }
      List<Double> gwB = new ArrayList<>();
      List<Double> cpuB = new ArrayList<>();
      List<Double> gw = new ArrayList<>();
      List<Double> direct = new ArrayList<>();
      List<Double> cpu = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        double before = gateway.cpuSeconds();
        double g = run(http, viaGateway, requests, concurrency, 201);
        double spent = gateway.cpuSeconds() - before;
        double d = run(http, presigned, requests, concurrency, 200);
        gw.add(g);
        direct.add(d);
        cpu.add(spent / requests * 1000);
        System.out.printf(Locale.ROOT, "  round %d: gateway %.0f/s (%.2f ms gateway CPU per upload), presigned PUT %.0f/s, ratio %.2f; load %s%n",
            r + 1, g, spent / requests * 1000, d, g / d, Files.readString(Path.of("/proc/loadavg")).trim());
        if (gatewayB != null) {
          double beforeB = gatewayB.cpuSeconds();
          double b = run(http, viaGatewayB, requests, concurrency, 201);
          double spentB = gatewayB.cpuSeconds() - beforeB;
          gwB.add(b / d);
          cpuB.add(spentB / requests * 1000);
          System.out.printf(Locale.ROOT, "           gateway B %.0f/s (%.2f ms gateway CPU per upload), ratio B/presigned %.2f%n",
              b, spentB / requests * 1000, b / d);
        }
      }
      String table = String.format(Locale.ROOT, "# wharf-bench tiny, %s, %s%n"
              + "POST /v1/files, 23 B (/s, median)          %.0f%n"
              + "presigned PUT to s3proxy, 23 B (/s, median) %.0f%n"
              + "ratio gateway/presigned (median of rounds) %.2f%n"
              + "gateway CPU per upload (ms, median)        %.2f%n",
          java.time.OffsetDateTime.now().withNano(0), jar, median(gw), median(direct), median(ratios(gw, direct)), median(cpu));
      if (gatewayB != null) {
        table += String.format(Locale.ROOT, "gateway B: %s%n"
                + "ratio gateway B/presigned (median)         %.2f%n"
                + "gateway B CPU per upload (ms, median)      %.2f%n",
            jarB, median(gwB), median(cpuB));
      }
      System.out.println();
      System.out.print(table);
      Files.writeString(outDir.resolve("tiny-results.txt"), table + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    } finally {
      toClose.close();
    }
    System.exit(status);
  }

  private static IntFunction<RequestOptions> posts(GatewayProcess gateway) {
    return i -> new RequestOptions().setMethod(HttpMethod.POST)
        .setAbsoluteURI(gateway.base().resolve("/v1/files").toString())
        .putHeader("Authorization", "Bearer " + gateway.deviceToken())
        .putHeader("X-Wharf-Filename", "tiny-" + i + ".txt")
        .putHeader("Content-Type", "text/plain");
  }

  /** {@code n} requests, {@code concurrency} at a time; answers requests per second. Any other status fails the run. */
  private static double run(HttpClient http, IntFunction<RequestOptions> request, int n, int concurrency, int expected) throws Exception {
    AtomicInteger next = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    Promise<Void> all = Promise.promise();
    long start = System.nanoTime();
    for (int c = 0; c < concurrency; c++) {
      loop(http, request, n, expected, next, done, all);
    }
    all.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
    return n / ((System.nanoTime() - start) / 1e9);
  }

  private static void loop(HttpClient http, IntFunction<RequestOptions> request, int n, int expected, AtomicInteger next,
      AtomicInteger done, Promise<Void> all) {
    int i = next.getAndIncrement();
    if (i >= n) {
      return;
    }
    http.request(request.apply(i))
        .compose(req -> req.putHeader("Content-Length", Integer.toString(BODY.length())).send(BODY))
        .compose(resp -> resp.body().map(body -> check(resp, body, expected)))
        .onSuccess(v -> {
          if (done.incrementAndGet() == n) {
            all.tryComplete();
          } else {
            loop(http, request, n, expected, next, done, all);
          }
        })
        .onFailure(all::tryFail);
  }

  private static Void check(HttpClientResponse resp, Buffer body, int expected) {
    if (resp.statusCode() != expected) {
      throw new IllegalStateException("answered " + resp.statusCode() + ": " + body);
    }
    return null;
  }

  private static List<Double> ratios(List<Double> a, List<Double> b) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      out.add(a.get(i) / b.get(i));
    }
    return out;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }

  private TinyUploadBench() {}
}
