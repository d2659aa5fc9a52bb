package dev.wharf.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * How request bodies are read. Every API request is paused on arrival, so no byte is lost while
 * authentication runs; then streamed routes (uploads) read their body themselves, and every other route
 * gets it buffered up to a small cap ({@value #JSON_BODY_LIMIT} bytes, 413 beyond).
 */
public final class Bodies {

  public static final int JSON_BODY_LIMIT = 64 * 1024;

  private Bodies() {}

  /** First handler of the API routes (before authentication): hold the body until a route is ready for it. */
  public static Handler<RoutingContext> pauseOnArrival() {
    return ctx -> {
      ctx.request().pause();
      ctx.next();
    };
  }

  /**
   * After authentication: buffer small bodies for ordinary routes, leave streamed ones paused. A request that
   * carries no body (no Content-Length, or 0, and not chunked) skips the body handler's machinery: it is only
   * resumed, so its end is read and the connection can take the next request.
   */
  public static Handler<RoutingContext> bufferUnlessStreamed() {
    BodyHandler buffered = BodyHandler.create(false).setBodyLimit(JSON_BODY_LIMIT);
    return ctx -> {
      if (isStreamed(ctx)) {
        ctx.next();
      } else if (hasNoBody(ctx.request())) {
        ctx.request().resume();
        ctx.next();
      } else {
        buffered.handle(ctx);
      }
    };
  }

  /** The request's {@code Content-Length}: null when it sent none (a chunked body), 400 {@code invalid_content_length} when not a number. */
  static Long declaredLength(HttpServerRequest request) {
    String raw = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (raw == null) {
      return null;
    }
    try {
      return Long.parseLong(raw.trim());
    } catch (NumberFormatException e) {
      throw dev.wharf.error.ClientException.badRequest("invalid_content_length", "Content-Length is not a number");
    }
  }

  private static boolean hasNoBody(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length == null || length.equals("0")) && request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
  }

  /**
   * The routes that stream their body instead of buffering it: {@code POST /v1/files},
   * {@code POST /v1/devices/{device}/deliveries}, {@code POST /v1/tus}, {@code PATCH /v1/tus/{id}} and
   * {@code PUT /v1/uploads/{id}/parts/{n}}.
   */
  static boolean isStreamed(RoutingContext ctx) {
    HttpMethod method = ctx.request().method();
    if (method != HttpMethod.POST && method != HttpMethod.PATCH && method != HttpMethod.PUT) {
      return false;
    }
    String path = ctx.normalizedPath();
    if (path.length() > 1 && path.endsWith("/")) {
      // The router matches a route with or without one trailing slash; so must this, or a streamed route would
      // get a body already buffered.
      path = path.substring(0, path.length() - 1);
    }
    if (method == HttpMethod.PUT) {
      // /v1/uploads/{id}/parts/{n}: four segments after /v1/, the third "parts".
      String[] segments = path.split("/", -1);
      return segments.length == 6 && segments[2].equals("uploads") && segments[4].equals("parts") && !segments[3].isEmpty()
          && !segments[5].isEmpty();
    }
    if (method == HttpMethod.PATCH) {
      return path.startsWith("/v1/tus/") && path.length() > 8 && path.indexOf('/', 8) < 0;
    }
    if (path.equals("/v1/files") || path.equals("/v1/tus")) {
      return true;
    }
    if (!path.startsWith("/v1/devices/") || !path.endsWith("/deliveries")) {
      return false;
    }
    int device = "/v1/devices/".length();
    int end = path.length() - "/deliveries".length();
    return end > device && path.indexOf('/', device) == end;
  }
}
