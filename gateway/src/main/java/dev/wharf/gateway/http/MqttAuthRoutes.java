package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import dev.wharf.mqtt.broker.BrokerAccess;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * What a broker's HTTP auth plugin calls in broker mode (mosquitto-go-auth's HTTP backend, EMQX's HTTP
 * authentication and authorization): {@code POST /v1/mqtt/auth} (username, password),
 * {@code POST /v1/mqtt/superuser} (username), {@code POST /v1/mqtt/acl} (username, topic). Bodies may be
 * JSON or a form. The answer is always 200 with {@code {"ok", "result": "allow"|"deny"}}, which both
 * plugins read; a caller without the shared secret gets 401. The secret comes as a bearer token, an
 * {@code X-Wharf-Mqtt-Secret} header or, for plugins that cannot send headers, a {@code secret} query
 * parameter. Without {@code mqtt.auth-secret} configured the routes do not exist.
 */
final class MqttAuthRoutes {

  private final BrokerAccess access;

  MqttAuthRoutes(BrokerAccess access) {
    this.access = access;
  }

  void mount(Router router) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(8 * 1024);
    router.post("/v1/mqtt/*").handler(body).handler(this::requireSecret);
    router.post("/v1/mqtt/auth").handler(ctx -> reply(ctx, access.authenticate(field(ctx, "username"), field(ctx, "password"))));
    router.post("/v1/mqtt/superuser").handler(ctx -> reply(ctx, Future.succeededFuture(access.isSuperuser(field(ctx, "username")))));
    router.post("/v1/mqtt/acl").handler(ctx -> reply(ctx, Future.succeededFuture(access.authorize(field(ctx, "username"), field(ctx, "topic")))));
  }

  private void requireSecret(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    String presented = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim()
        : ctx.request().getHeader("X-Wharf-Mqtt-Secret") != null ? ctx.request().getHeader("X-Wharf-Mqtt-Secret")
        : ctx.request().getParam("secret");
    if (!access.trusted(presented)) {
      ctx.fail(ClientException.unauthorized("the MQTT auth endpoints need the shared secret"));
      return;
    }
    ctx.next();
  }

  private static String field(RoutingContext ctx, String name) {
    String type = ctx.request().getHeader("Content-Type");
    if (type != null && type.toLowerCase().startsWith("application/json")) {
      try {
        JsonObject json = ctx.body().asJsonObject();
        return json != null && json.getValue(name) instanceof String s ? s : null;
      } catch (RuntimeException e) {
        return null;
      }
    }
    if (type != null && type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      var values = new io.netty.handler.codec.http.QueryStringDecoder(ctx.body().asString(), false).parameters().get(name);
      return values == null || values.isEmpty() ? null : values.get(0);
    }
    return null;
  }

  private static void reply(RoutingContext ctx, Future<Boolean> decision) {
    decision.otherwise(false).onSuccess(allowed -> ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("ok", allowed).put("result", allowed ? "allow" : "deny").put("error", allowed ? "" : "denied").toBuffer()));
  }
}
