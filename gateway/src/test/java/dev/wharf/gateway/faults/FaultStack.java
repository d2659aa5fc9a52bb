package dev.wharf.gateway.faults;

import dev.wharf.devstack.FaultProxy;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A gateway of its own for a fault scenario: on the JVM's shared PostgreSQL and Redis, with S3 reached through a
 * {@link FaultProxy}, and with ingest workers running, so uploads are verified while the faults happen. Faults on
 * PostgreSQL and Redis are injected on the shared servers, which every test of the JVM uses: a scenario restores
 * them before it ends (tests of one JVM run one after the other). A test class starts one and stops it after
 * (its reconciler and workers take any job of the database, so it must not outlive the class).
 */
final class FaultStack implements AutoCloseable {

  final TestStack base;
  final Vertx vertx;
  final WharfApp app;
  final int port;
  final FaultProxy s3;

  private FaultStack(TestStack base, Vertx vertx, WharfApp app, int port, FaultProxy s3) {
    this.base = base;
    this.vertx = vertx;
    this.app = app;
    this.port = port;
    this.s3 = s3;
  }

  static FaultStack start() throws Exception {
    TestStack base = TestStack.get();
    URI s3 = URI.create(base.servers.s3Endpoint());
    FaultProxy proxy = new FaultProxy(s3.getHost(), s3.getPort());
    int port = TestStack.freePort();
    Map<String, String> extra = new HashMap<>();
    extra.put("WHARF_S3_ENDPOINT", "http://127.0.0.1:" + proxy.port());
    // A stalled storage answers 503 after a few seconds instead of the production 90 s.
    extra.put("WHARF_S3_CALL_TIMEOUT", "4s");
    extra.put("WHARF_S3_ATTEMPT_TIMEOUT", "2s");
    extra.put("WHARF_INGEST_WORKERS", "1");
    extra.put("WHARF_INGEST_CONCURRENCY", "4");
    extra.put("WHARF_INGEST_STALL_TIMEOUT", "5s");
    // TestStack's three ingest attempts (100 ms .. 1 s backoff) stand: attempts cut by an outage are not counted,
    // so the injected faults, which outlast three backoffs, must not leave a job dead or a file failed.
    extra.put("WHARF_UPLOADS_MAX_CONCURRENT", "64");
    Vertx vertx = Vertx.vertx();
    WharfConfig config = WharfConfig.load(null, TestStack.env(base.servers, port, extra));
    WharfApp app = WharfApp.start(vertx, config).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    return new FaultStack(base, vertx, app, port, proxy);
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    try {
      app.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      s3.close();
    }
  }
}
