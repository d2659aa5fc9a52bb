package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 10, slow clients (slowloris): N connections each send one byte of a request head per second (Vert.x timers,
 * no sleeping) while a normal client keeps uploading and polling. Every normal request is answered, and the server
 * closes every slow connection once its head deadline passes: {@code http.header-timeout} for a fresh connection, and
 * {@code http.idle-timeout} for one that dribbles its second request after a first quick one (a tenth of them).
 *
 * <p>A gateway of its own runs with {@code http.header-timeout=2s}, {@code http.idle-timeout=4s}, so the test ends in
 * seconds; the defaults (10 s, 120 s) bound the same way, later.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class SlowClientsTest {

  static TestStack stack;
  static WharfApp gateway;
  static int port;
  static Vertx clients;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    port = TestStack.freePort();
    WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, port, Map.of(
        "WHARF_HTTP_HEADER_TIMEOUT", "2s", "WHARF_HTTP_IDLE_TIMEOUT", "4s")));
    gateway = await(WharfApp.start(stack.vertx, config));
    clients = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      await(gateway.stop());
    }
    if (clients != null) {
      await(clients.close());
    }
  }

  @Test
  void slowHeadsAreCutAndNormalRequestsKeepBeingServed() throws Exception {
    run("slowloris", 150);
  }

  @Test
  @Tag("fault-long")
  void thousandSlowHeadsAreCutAndNormalRequestsKeepBeingServed() throws Exception {
    long limit = openFileLimit();
    System.out.println("slowloris (long): open-file limit " + limit);
    // Each slow connection costs two descriptors in this JVM (client and server side).
    Assumptions.assumeTrue(limit < 0 || limit >= 2 * 1000 + 1000,
        "open-file limit " + limit + " is below the 3000 that 1,000 slow connections need here; raise ulimit -n");
    run("slowloris (long)", 1000);
  }

  private void run(String scenario, int connections) throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    NetClient net = clients.createNetClient(new NetClientOptions().setConnectTimeout(10_000));
    byte[] head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(4_000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] quick = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    AtomicInteger closedByServer = new AtomicInteger();
    AtomicLong bytesDripped = new AtomicLong();
    AtomicInteger answeredSlow = new AtomicInteger();
    Promise<Void> allClosed = Promise.promise();
    List<NetSocket> sockets = new ArrayList<>();

    // Open the slow connections in batches of 50 (a burst of 1,000 connects would only test the accept backlog).
    for (int from = 0; from < connections; from += 50) {
      List<Future<NetSocket>> batch = new ArrayList<>();
      for (int i = from; i < Math.min(connections, from + 50); i++) {
        boolean keptAlive = i % 10 == 0;
        batch.add(net.connect(port, "127.0.0.1").onSuccess(socket -> {
          int[] at = {0};
          long[] timer = {-1};
          Runnable drip = () -> timer[0] = clients.setPeriodic(1_000, id -> {
            socket.write(Buffer.buffer(new byte[] {head[at[0]++ % head.length]}));
            bytesDripped.incrementAndGet();
          });
          socket.handler(buf -> {
            // Only the kept-alive ones send a whole request first; an answer to a dribbled head would be a failure.
            if (!keptAlive) {
              answeredSlow.incrementAndGet();
            }
            if (keptAlive && timer[0] < 0) {
              drip.run();
            }
          });
          socket.closeHandler(v -> {
            clients.cancelTimer(timer[0]);
            if (closedByServer.incrementAndGet() == connections) {
              allClosed.tryComplete();
            }
          });
          if (keptAlive) {
            socket.write(Buffer.buffer(quick));
          } else {
            drip.run();
          }
        }));
      }
      sockets.addAll(await(Future.all(batch)).list());
    }
    System.out.printf("%s: %d slow connections open, dripping one byte a second each%n", scenario, connections);

    // A normal client (its own connection pool) uploads and polls until the last slow connection was cut.
    WebClient normal = WebClient.create(clients, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port));
    AtomicInteger served = new AtomicInteger();
    List<String> refused = new ArrayList<>();
    Promise<Void> normalDone = Promise.promise();
    clients.runOnContext(v -> normalLoop(normal, t, allClosed.future(), served, refused, normalDone));

    try {
      await(allClosed.future(), 120);
    } catch (Exception e) {
      System.out.printf("%s: only %d of %d slow connections were closed by the server%n", scenario, closedByServer.get(), connections);
    }
    await(normalDone.future(), 60);
    System.out.printf("%s: %d slow connections (%d B dripped in all), %d closed by the server (head deadline 2 s, 4 s after a "
            + "first request); %d normal requests (uploads + polls) served meanwhile, %d refused %s%n",
        scenario, connections, bytesDripped.get(), closedByServer.get(), served.get(), refused.size(),
        refused.isEmpty() ? "" : refused.subList(0, Math.min(5, refused.size())));
    FaultTable.record(scenario, connections + " connections x 1 B/s + 1 normal client", "header drip (slowloris)",
        served.get(), 0, refused.size() + (connections - closedByServer.get()));

    assertThat(closedByServer.get()).as("slow connections the server closed").isEqualTo(connections);
    assertThat(refused).as("normal requests not answered as expected").isEmpty();
    assertThat(served.get()).as("normal requests served while the slow connections were open").isPositive();
    assertThat(answeredSlow.get()).as("answers to a head never completed").isZero();
  }

  /** Upload then poll, over and over, until {@code until} completes; each answer counted. */
  private static void normalLoop(WebClient client, TestStack.Tenant t, Future<Void> until, AtomicInteger served, List<String> refused,
      Promise<Void> done) {
    if (until.isComplete()) {
      done.complete();
      return;
    }
    client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "normal.txt")
        .sendBuffer(Buffer.buffer("normal request during slowloris\n"))
        .compose(r -> {
          if (r.statusCode() == 201) {
            served.incrementAndGet();
          } else {
            refused.add("upload " + r.statusCode());
          }
          return client.get("/v1/inbox?wait=0").bearerTokenAuthentication(t.tokenA()).send();
        })
        .onSuccess(r -> {
          if (r.statusCode() == 200 || r.statusCode() == 204) {
            served.incrementAndGet();
          } else {
            refused.add("poll " + r.statusCode());
          }
        })
        .onFailure(err -> refused.add("failed: " + err))
        .onComplete(ar -> normalLoop(client, t, until, served, refused, done));
  }

  static long openFileLimit() {
    var os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.UnixOperatingSystemMXBean unix ? unix.getMaxFileDescriptorCount() : -1;
  }

  static <T> T await(Future<T> f) throws Exception {
    return await(f, 60);
  }

  static <T> T await(Future<T> f, int seconds) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }
}
