package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import dev.wharf.grants.GrantService;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code PUT /v1/grants/{token}}: the one upload an MQTT grant allows. The token in the path is the
 * credential, so this route sits before bearer authentication. The body streams through the same upload
 * path as {@code POST /v1/files}.
 */
final class GrantRoutes {

  private final GrantService grants;
  private final UploadSlots slots;

  GrantRoutes(GrantService grants, UploadSlots slots) {
    this.grants = grants;
    this.slots = slots;
  }

  void mount(Router router) {
    router.put("/:token").handler(this::put);
  }

  private void put(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    Long length;
    try {
      length = Bodies.declaredLength(request);
    } catch (ClientException e) {
      ctx.fail(e);
      return;
    }
    slots.run(() -> grants.redeem(ctx.pathParam("token"), length, RequestIds.of(ctx), request)).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
        return;
      }
      var body = ar.result().file().toJson();
      ctx.response().setStatusCode(201).putHeader("Content-Type", "application/json")
          .putHeader("Location", "/v1/files/" + body.getString("id")).end(Replies.encode(body));
    });
  }
}
