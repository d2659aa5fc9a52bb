package dev.wharf.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;

/**
 * Answers sent before the request's body was read to its end (a refusal, a replay, a failed chunk), done so the
 * client gets the answer and, over HTTP/2, nobody else on the connection is hurt.
 *
 * <ul>
 *   <li>HTTP/1.x: the connection cannot carry another request, so the answer says {@code Connection: close} and
 *       the connection is closed the way HTTP servers do it ("lingering close"): the rest of the body is read and
 *       thrown away for a bounded time and size first. Closing a socket with unread bytes in it makes the kernel
 *       send a reset, which can arrive before the client read the answer, so the client would see the connection
 *       drop ("received no bytes") instead of the 503 or 413 it was given.
 *   <li>HTTP/2: the connection carries other requests at the same time, so only the request's own stream may
 *       end. The rest of the body is read and dropped within the same bounds; past them, RST_STREAM with
 *       NO_ERROR asks the client to stop sending (RFC 9113 §8.1). Draining first matters to clients that take
 *       that reset as a failure even after a complete answer (the JDK 17 {@code HttpClient} never completes
 *       such an exchange).
 * </ul>
 */
final class EarlyAnswers {

  /** At most this long is spent draining a body, */
  static final long MAX_MILLIS = 2_000;
  /** and at most this much of it is read and dropped, before the connection or stream is cut regardless. */
  static final long MAX_BYTES = 8L * 1024 * 1024;
  /** RST_STREAM's NO_ERROR. */
  private static final long NO_ERROR = 0;

  private EarlyAnswers() {
  }

  /**
   * Call before writing an answer's head: whether the request's body is unread, in which case an HTTP/1.x
   * answer is given {@code Connection: close}. When it is, call {@link #after} once the answer is written.
   */
  static boolean markUnread(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (request.isEnded()) {
      return false;
    }
    if (request.version() != HttpVersion.HTTP_2) {
      ctx.response().putHeader("Connection", "close");
    }
    return true;
  }

  /**
   * After an answer marked by {@link #markUnread}: reads and drops what is left of the body (bounded), then
   * ends what the request can no longer use: its connection (HTTP/1.x, always) or, when the body did not end
   * within the bound, its stream (HTTP/2).
   */
  static void after(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    boolean http2 = request.version() == HttpVersion.HTTP_2;
    Runnable cut = http2 ? () -> ctx.response().reset(NO_ERROR) : () -> request.connection().close();
    if (request.isEnded()) {
      if (!http2) {
        cut.run();
      }
      return;
    }
    long[] left = {MAX_BYTES};
    boolean[] finished = {false};
    long[] timer = {-1};
    Handler<Boolean> finish = bodyEnded -> {
      if (finished[0]) {
        return;
      }
      finished[0] = true;
      ctx.vertx().cancelTimer(timer[0]);
      if (!(http2 && bodyEnded)) {
        cut.run();
      }
    };
    timer[0] = ctx.vertx().setTimer(MAX_MILLIS, id -> finish.handle(false));
    try {
      request.exceptionHandler(err -> finish.handle(false));
      request.endHandler(v -> finish.handle(true));
      request.handler(chunk -> {
        left[0] -= chunk.length();
        if (left[0] < 0) {
          finish.handle(false);
        }
      });
      request.resume();
    } catch (IllegalStateException alreadyRead) {
      // The body was taken by a handler that failed (it cannot be read twice): cut now.
      finish.handle(false);
    }
  }
}
