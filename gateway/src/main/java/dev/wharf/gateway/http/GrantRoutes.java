package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.grants.GrantService;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code PUT /v1/grants/{token}}: the one upload an MQTT grant allows. The token in the path is the
 * credential, so this route sits before bearer authentication. The body streams through the same upload
 * path as {@code POST /v1/files}.
 */
final class GrantRoutes {

  private final GrantService grants;
  private final int maxConcurrentUploads;
  private final AtomicInteger uploadsInFlight;

  GrantRoutes(GrantService grants, int maxConcurrentUploads, AtomicInteger uploadsInFlight) {
    this.grants = grants;
    this.maxConcurrentUploads = maxConcurrentUploads;
    this.uploadsInFlight = uploadsInFlight;
  }

  void mount(Router router) {
    router.put("/v1/grants/:token").handler(this::put);
  }

  private void put(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Long length;
    try {
      String raw = request.getHeader("Content-Length");
      length = raw == null ? null : Long.parseLong(raw.trim());
    } catch (NumberFormatException e) {
      ctx.fail(ClientException.badRequest("invalid_content_length", "Content-Length is not a number"));
      return;
    }
    if (uploadsInFlight.incrementAndGet() > maxConcurrentUploads) {
      uploadsInFlight.decrementAndGet();
      ctx.fail(ServerException.overloaded("too many uploads in flight on this gateway, retry shortly"));
      return;
    }
    grants.redeem(ctx.pathParam("token"), length, RequestIds.of(ctx), request).onComplete(ar -> {
      uploadsInFlight.decrementAndGet();
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      var body = ar.result().file().toJson();
      ctx.response().setStatusCode(201).putHeader("Content-Type", "application/json")
          .putHeader("Location", "/v1/files/" + body.getString("id")).end(body.toBuffer());
    });
  }
}
