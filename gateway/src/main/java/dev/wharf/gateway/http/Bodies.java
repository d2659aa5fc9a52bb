package dev.wharf.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;
import java.util.regex.Pattern;

/**
 * How request bodies are read. Every API request is paused on arrival, so no byte is lost while
 * authentication runs; then streamed routes (uploads) read their body themselves, and every other route
 * gets it buffered up to a small cap ({@value #JSON_BODY_LIMIT} bytes, 413 beyond).
 */
public final class Bodies {

  public static final int JSON_BODY_LIMIT = 64 * 1024;

  /** Routes that stream their body instead of buffering it: method and path pattern. */
  private static final List<Streamed> STREAMED = List.of(
      new Streamed(HttpMethod.POST, Pattern.compile("/v1/files")),
      new Streamed(HttpMethod.POST, Pattern.compile("/v1/devices/[^/]+/deliveries")),
      new Streamed(HttpMethod.POST, Pattern.compile("/v1/tus/?")),
      new Streamed(HttpMethod.PATCH, Pattern.compile("/v1/tus/[^/]+")));

  private record Streamed(HttpMethod method, Pattern path) {}

  private Bodies() {}

  /** First handler of the API routes (before authentication): hold the body until a route is ready for it. */
  public static Handler<RoutingContext> pauseOnArrival() {
    return ctx -> {
      ctx.request().pause();
      ctx.next();
    };
  }

  /** After authentication: buffer small bodies for ordinary routes, leave streamed ones paused. */
  public static Handler<RoutingContext> bufferUnlessStreamed() {
    BodyHandler buffered = BodyHandler.create(false).setBodyLimit(JSON_BODY_LIMIT);
    return ctx -> {
      if (isStreamed(ctx)) {
        ctx.next();
      } else {
        buffered.handle(ctx);
      }
    };
  }

  static boolean isStreamed(RoutingContext ctx) {
    String path = ctx.normalizedPath();
    for (Streamed s : STREAMED) {
      if (s.method().equals(ctx.request().method()) && s.path().matcher(path).matches()) {
        return true;
      }
    }
    return false;
  }
}
