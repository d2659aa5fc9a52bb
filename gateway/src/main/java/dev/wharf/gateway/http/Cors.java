package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.List;
import java.util.Set;

/**
 * Lets pages of the configured web origins ({@code http.cors-origins}) call the API from a browser: a tus client
 * such as tus-js-client or Uppy in an operator's console, a page that polls an inbox. Preflights are answered here,
 * before any token is asked for (a browser sends none with them); other requests from an allowed origin get the
 * {@code Access-Control-*} headers and go on, so errors are readable by the page too. A request whose {@code Origin}
 * is not allowed is refused with 403 {@code origin_not_allowed} before it touches anything. Requests without an
 * {@code Origin} (devices, curl, the agent) pass untouched. Credentials are bearer tokens, never cookies, so no
 * {@code Allow-Credentials}.
 */
final class Cors implements Handler<RoutingContext> {

  /** What a browser may send: the API's own headers and tus's. */
  private static final Set<String> REQUEST_HEADERS = Set.of("Authorization", "Content-Type", "Idempotency-Key", "Range", "If-None-Match",
      "X-Wharf-Filename", "X-Wharf-Checksum-SHA256", "X-Wharf-Priority", "Tus-Resumable", "Upload-Length", "Upload-Offset",
      "Upload-Metadata", "Upload-Checksum", "Upload-Defer-Length", "Upload-Concat", "X-HTTP-Method-Override", "X-Requested-With");
  /** What a page may read of an answer besides the CORS-safelisted headers. */
  private static final Set<String> RESPONSE_HEADERS = Set.of("Location", "ETag", "Content-Range", "Accept-Ranges", "Retry-After",
      "Idempotent-Replayed", "X-Wharf-File", "X-Request-Id", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
      "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length", "Upload-Expires", "Upload-Metadata", "Upload-Defer-Length");

  private final CorsHandler cors;
  private final Set<String> origins;
  private final boolean anyOrigin;

  /** {@code origins}: {@code *} alone, or exact origins ({@code https://console.example.com}). */
  Cors(List<String> origins) {
    this.anyOrigin = origins.contains("*");
    this.origins = Set.copyOf(origins);
    CorsHandler handler = CorsHandler.create();
    if (!anyOrigin) {
      handler.addOrigins(origins);
    }
    this.cors = handler
        .allowedMethods(Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE,
            HttpMethod.OPTIONS))
        .allowedHeaders(REQUEST_HEADERS)
        .exposedHeaders(RESPONSE_HEADERS)
        .maxAgeSeconds(600);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String origin = ctx.request().getHeader("Origin");
    if (origin == null) {
      ctx.next();
      return;
    }
    // CorsHandler would refuse this origin too, but as a bare 403 failure; checked here, the page gets a stable code.
    if (!anyOrigin && !origins.contains(origin)) {
      Problems.answer(ctx, new ClientException(403, "origin_not_allowed",
          "pages of this origin may not call this API (http.cors-origins lists the ones that may)"));
      return;
    }
    cors.handle(ctx);
  }
}
