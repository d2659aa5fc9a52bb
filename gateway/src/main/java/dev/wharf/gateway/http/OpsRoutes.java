package dev.wharf.gateway.http;

import dev.wharf.blob.BlobStore;
import dev.wharf.ingest.JobService;
import dev.wharf.metrics.WharfMetrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.RedisAPI;
import io.vertx.sqlclient.Pool;
import java.util.List;

/** Liveness, readiness (Postgres, Redis, S3 each checked), Prometheus metrics, the OpenAPI spec. */
final class OpsRoutes {

  private final Pool pool;
  private final RedisAPI redis;
  private final BlobStore blobs;
  private final JobService jobs;
  private final WharfMetrics metrics;

  OpsRoutes(Pool pool, RedisAPI redis, BlobStore blobs, JobService jobs, WharfMetrics metrics) {
    this.pool = pool;
    this.redis = redis;
    this.blobs = blobs;
    this.jobs = jobs;
    this.metrics = metrics;
  }

  void mount(Router router) {
    router.get("/healthz").handler(ctx -> ctx.json(new JsonObject().put("status", "ok")));
    router.get("/readyz").handler(this::ready);
    // A scrape refreshes the queue gauges and the dependency checks first, so alerts see current values.
    router.get("/metrics").handler(ctx -> Future.join(jobs.stats(), checks().all()).onComplete(ar -> ctx.response()
        .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .end(metrics.scrape())));
    router.get("/openapi.yaml").handler(ctx -> ctx.vertx().fileSystem().readFile("openapi.yaml")
        .onSuccess(spec -> ctx.response().putHeader("Content-Type", "application/yaml").end(spec))
        .onFailure(ctx::fail));
  }

  /** The three readiness checks, each recorded in {@code wharf_dependency_up} when it ends. */
  private record Checks(Future<Void> postgres, Future<Void> redis, Future<Void> s3) {
    Future<?> all() {
      return Future.join(postgres, redis, s3);
    }
  }

  private Checks checks() {
    Future<Void> postgres = pool.query("SELECT 1").execute().<Void>mapEmpty()
        .andThen(ar -> metrics.dependencyUp("postgres", ar.succeeded()));
    Future<Void> redisPing = redis.ping(List.of()).<Void>mapEmpty()
        .andThen(ar -> metrics.dependencyUp("redis", ar.succeeded()));
    Future<Void> s3 = blobs.ping().andThen(ar -> metrics.dependencyUp("s3", ar.succeeded()));
    return new Checks(postgres, redisPing, s3);
  }

  private void ready(RoutingContext ctx) {
    Checks running = checks();
    Future<Void> postgres = running.postgres();
    Future<Void> redisPing = running.redis();
    Future<Void> s3 = running.s3();
    running.all().onComplete(ar -> {
      JsonObject checks = new JsonObject()
          .put("postgres", status(postgres))
          .put("redis", status(redisPing))
          .put("s3", status(s3));
      boolean ok = postgres.succeeded() && redisPing.succeeded() && s3.succeeded();
      ctx.response().setStatusCode(ok ? 200 : 503).putHeader("Content-Type", "application/json")
          .end(new JsonObject().put("status", ok ? "ready" : "not_ready").put("checks", checks).toBuffer());
    });
  }

  private static String status(Future<?> check) {
    return check.succeeded() ? "ok" : "down: " + check.cause().getMessage();
  }
}
