package dev.wharf.gateway.http;

import dev.wharf.delivery.InboxWaiters;
import dev.wharf.error.ClientException;
import dev.wharf.gateway.Services;
import dev.wharf.mqtt.broker.BrokerAccess;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.concurrent.TimeUnit;

/** The HTTP API. Deployed once per event loop; instances share the port. */
public final class ApiVerticle extends VerticleBase {

  private final Services services;
  private HttpServer server;
  private InboxWaiters waiters;
  private Router router;
  private HeadDeadlines deadlines;
  private final Problems problems = new Problems();

  public ApiVerticle(Services services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    var http = services.config().http();
    deadlines = new HeadDeadlines(vertx, http.headerTimeout().toMillis(), http.idleTimeout().toMillis());
    deadlines.start();
    router = Router.router(vertx);
    // Failures met on the main router go to the one failure handler without being matched against any route's
    // path first: a request target that is not a path ("%zz", no leading slash) is failed by Vert.x Web before
    // routing, and matching that failure against a path route threw on the broken escape.
    router.route().failureHandler(problems);
    router.route().handler(deadlines);
    router.route().handler(new RequestIds());
    router.route().handler(new RequestChecks());
    if (!http.corsOrigins().isEmpty()) {
      router.route("/v1/*").handler(new Cors(http.corsOrigins()));
    }
    router.route("/v1/*").handler(Bodies.pauseOnArrival());
    new OpsRoutes(services.pool(), services.redis(), services.blobs(), services.jobs(), services.metrics()).mount(router);
    new GrantRoutes(services.grants(), services.uploadSlots()).mount(under("/v1/grants"));
    TusRoutes tus = new TusRoutes(services.uploadSessions(), services.uploadSlots());
    tus.mountPublic(router);
    if (services.config().mqtt().authSecret() != null) {
      new MqttAuthRoutes(new BrokerAccess(services.config().mqtt(), services.tokens(), services.tenants())).mount(router);
    }
    router.route("/v1/*").handler(new Authn(services.tokens(), services.config().adminToken()));
    router.route("/v1/*").handler(Bodies.bufferUnlessStreamed());
    // The inbox first: devices poll and ack it all day, and a request passes each route mounted before its own.
    waiters = new InboxWaiters(vertx, services.deliveries().pollsHeld(), services.config().deliveries().maxPolls());
    new InboxRoutes(services.deliveries(), services.blobs(), waiters).mount(under("/v1/inbox"));
    new AdminRoutes(services.tenants(), services.tokens(), services.jobs()).mount(under("/v1/admin"));
    Router files = under("/v1/files");
    new FileRoutes(services.files(), services.blobs(), services.idempotency(), services.uploadSlots()).mount(files);
    new JobRoutes(services.jobs()).mount(under("/v1/jobs"));
    tus.mount(router);
    new UploadRoutes(services.uploadSessions(), services.uploadSlots()).mount(under("/v1/uploads"), files);
    new DeliveryRoutes(services.deliveries(), services.idempotency(), services.uploadSlots(), services.files().limits())
        .mount(under("/v1/deliveries"), under("/v1/devices"));
    router.route().last().handler(ctx -> ctx.fail(ClientException.notFound("route")));
    server = vertx.createHttpServer(new HttpServerOptions()
        .setHost(http.host())
        .setPort(http.port())
        .setIdleTimeout(Math.toIntExact(http.idleTimeout().toMillis()))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setMaxHeaderSize(http.maxHeaderSize())
        .setMaxInitialLineLength(http.maxInitialLineLength())
        .setHandle100ContinueAutomatically(true));
    return waiters.start().compose(v -> server.connectionHandler(deadlines.connections()).requestHandler(router).listen());
  }

  @Override
  public Future<?> stop() {
    if (deadlines != null) {
      deadlines.stop();
    }
    Future<Void> released = waiters == null ? Future.succeededFuture() : waiters.releaseAll();
    return released.transform(v -> server == null ? Future.succeededFuture() : server.shutdown(10, TimeUnit.SECONDS));
  }

  /**
   * A sub-router for the routes under {@code prefix} (their paths relative to it), mounted on the main router
   * at this point of its order. A request elsewhere passes the whole group with one prefix test instead of
   * trying each route's path pattern: every request used to walk every route.
   */
  private Router under(String prefix) {
    Router sub = Router.router(vertx);
    // A failure met on the way here (a refused token, a malformed path) passes through the sub-router too:
    // it answers it as the main router would, not with Vert.x's plain-text default.
    sub.route().failureHandler(problems);
    router.route(prefix + "*").subRouter(sub);
    return sub;
  }

  /** The routes this instance serves, once started (the OpenAPI check walks them). */
  public Router router() {
    return router;
  }

  /** The port actually bound (for port 0 in tests). */
  public int actualPort() {
    return server.actualPort();
  }
}
