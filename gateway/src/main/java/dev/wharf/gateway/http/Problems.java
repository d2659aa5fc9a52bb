package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import dev.wharf.error.Outages;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one failure handler: every failure becomes an RFC 9457 problem+json body with a stable
 * {@code code}. A dependency outage ({@link Outages}) is 503 with {@code Retry-After}; client errors are
 * logged without a stack trace; anything else is a 500 and logged in full.
 */
public final class Problems implements Handler<RoutingContext> {

  private static final Logger log = LoggerFactory.getLogger(Problems.class);

  @Override
  public void handle(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (abandoned(ctx, failure)) {
      log.info("request abandoned by the client [request={}, method={}, path={}, cause={}]", RequestIds.of(ctx),
          ctx.request().method(), loggablePath(ctx), String.valueOf(failure));
      if (!ctx.response().closed()) {
        ctx.response().reset();
      }
      return;
    }
    answer(ctx, classify(ctx, failure), failure);
  }

  /**
   * Whether the client hung up: its connection (HTTP/1.x) is closed, or its stream (HTTP/2) was closed or reset
   * under the request. The failure is then that hang-up reaching whatever was reading the body; nobody can read
   * an answer, and a closed socket of the client's is not a dependency outage, which is what a bare
   * {@code HttpClosedException} would otherwise be taken for (storage failures come wrapped as Wharf's own).
   */
  private static boolean abandoned(RoutingContext ctx, Throwable failure) {
    if (failure instanceof WharfException) {
      return false;
    }
    if (ctx.response().closed()) {
      return true;
    }
    return ctx.request().version() == HttpVersion.HTTP_2
        && (failure instanceof HttpClosedException || failure instanceof StreamResetException);
  }

  /**
   * Logs and writes {@code problem} at once, without routing a failure: for a request refused before routing
   * could work on it (a path that cannot be decoded cannot be matched against the sub-routers' prefixes).
   */
  static void answer(RoutingContext ctx, WharfException problem) {
    answer(ctx, problem, problem);
  }

  private static void answer(RoutingContext ctx, WharfException problem, Throwable failure) {
    String requestId = RequestIds.of(ctx);
    if (problem instanceof ServerException && problem.getCause() != null) {
      log.warn("request failed [request={}, method={}, path={}, code={}, cause={}]", requestId, ctx.request().method(),
          loggablePath(ctx), problem.code(), problem.getCause().toString());
    } else if (problem.status() >= 500) {
      log.error("request failed [request={}, method={}, path={}]", requestId, ctx.request().method(), loggablePath(ctx), failure);
    } else {
      log.info("request refused [request={}, method={}, path={}, status={}, code={}]", requestId, ctx.request().method(),
          loggablePath(ctx), problem.status(), problem.code());
    }
    send(ctx, problem);
  }

  /** The request path as it may be logged: a grant's token in it is a credential, so it is masked. */
  static String loggablePath(RoutingContext ctx) {
    String path = ctx.request().path();
    return path != null && path.startsWith("/v1/grants/") ? "/v1/grants/***" : path;
  }

  /** Writes {@code problem} unless a response is already under way (then the connection is reset). */
  public static void send(RoutingContext ctx, WharfException problem) {
    HttpServerResponse response = ctx.response();
    if (response.headWritten()) {
      response.reset();
      return;
    }
    if (problem instanceof ServerException server && server.retryAfterSeconds() > 0) {
      response.putHeader("Retry-After", Integer.toString(server.retryAfterSeconds()));
    }
    // The body was not read: this request's connection (HTTP/1.x) or stream (HTTP/2) ends with the answer.
    boolean unread = EarlyAnswers.markUnread(ctx);
    JsonObject body = new JsonObject()
        .put("type", "https://wharf.dev/problems/" + problem.code())
        .put("title", title(problem.status()))
        .put("status", problem.status())
        .put("code", problem.code())
        .put("detail", problem.getMessage())
        .put("request_id", RequestIds.of(ctx));
    response.setStatusCode(problem.status())
        .putHeader("Content-Type", "application/problem+json")
        .end(Replies.encode(body))
        .onComplete(ar -> {
          if (unread) {
            EarlyAnswers.after(ctx);
          }
        });
  }

  private static WharfException classify(RoutingContext ctx, Throwable failure) {
    if (failure instanceof WharfException w) {
      return w;
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.netty.handler.codec.http2.Http2Exception) {
        // The HTTP/2 codec failed on the client's frames (a header block over the limit on any stream of the
        // connection is a connection error): the request came on a connection its client broke.
        return ClientException.badRequest("http2_error", "the HTTP/2 connection of this request failed: " + t.getMessage());
      }
    }
    if (failure instanceof io.vertx.pgclient.PgException pg && "22021".equals(pg.getSqlState())) {
      // character_not_in_repertoire: text from the request that PostgreSQL cannot store (a NUL, say).
      return ClientException.badRequest("invalid_text", "a text value in the request holds a character that cannot be stored (NUL)");
    }
    String path = ctx.request().path();
    if (path == null || !path.startsWith("/")) {
      // Vert.x Web fails a request target that is not a path (no leading slash) with a bare 400 before routing.
      return ClientException.badRequest("malformed_path", "the request target is not an absolute path");
    }
    if (failure instanceof HttpException http) {
      return new ClientException(http.getStatusCode(), codeFor(http.getStatusCode()),
          http.getPayload() != null ? http.getPayload() : title(http.getStatusCode()));
    }
    if (failure instanceof io.vertx.core.json.DecodeException || failure instanceof IllegalArgumentException && failure.getMessage() != null
        && failure.getMessage().contains("Invalid JSON")) {
      return ClientException.badRequest("malformed_json", "the body is not valid JSON");
    }
    if (failure instanceof io.netty.handler.codec.http.multipart.HttpPostRequestDecoder.TooLongFormFieldException
        || failure instanceof io.netty.handler.codec.http.multipart.HttpPostRequestDecoder.TooManyFormFieldsException) {
      return ClientException.tooLarge("a form field or the number of fields exceeds the limit");
    }
    if (failure instanceof io.netty.handler.codec.http.multipart.HttpPostRequestDecoder.ErrorDataDecoderException) {
      return ClientException.badRequest("malformed_multipart", "the form or multipart body cannot be decoded");
    }
    if (failure != null && fromRequestDecoder(failure)) {
      return ClientException.badRequest("malformed_body", "the request body is not valid HTTP framing (e.g. a bad chunk size)");
    }
    if (failure != null && !(failure instanceof WharfException) && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      // The HTTP stack refused the request with its own status (a missing Host, an empty path): keep it.
      return new ClientException(ctx.statusCode(), codeFor(ctx.statusCode()), failure.getMessage() != null ? failure.getMessage()
          : title(ctx.statusCode()));
    }
    if (failure == null) {
      int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      return status < 500
          ? new ClientException(status, codeFor(status), title(status))
          : new ServerException(status, "internal_error", "internal error", null, 0);
    }
    return Outages.classify(failure).orElseGet(() -> new ServerException(500, "internal_error", "internal error", null, 0));
  }

  /** Netty's HTTP decoder failed on the request's own bytes (a chunk size that is not hex, say). */
  private static boolean fromRequestDecoder(Throwable failure) {
    for (StackTraceElement frame : failure.getStackTrace()) {
      if (frame.getClassName().equals("io.netty.handler.codec.http.HttpObjectDecoder")) {
        return true;
      }
    }
    return false;
  }

  static String codeFor(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 413 -> "payload_too_large";
      case 415 -> "unsupported_media_type";
      default -> "http_" + status;
    };
  }

  static String title(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 409 -> "Conflict";
      case 413 -> "Content Too Large";
      case 416 -> "Range Not Satisfiable";
      case 422 -> "Unprocessable Content";
      case 503 -> "Service Unavailable";
      default -> status >= 500 ? "Server Error" : "Client Error";
    };
  }
}
