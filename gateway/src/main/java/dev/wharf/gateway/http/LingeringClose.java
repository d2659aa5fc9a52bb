package dev.wharf.gateway.http;

import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Closes the connection of a request answered before its body was read, the way HTTP servers do it
 * ("lingering close"): the rest of the body is read and thrown away for a bounded time and size first. Closing
 * a socket with unread bytes in it makes the kernel send a reset, which can arrive before the client read the
 * answer already sent, so the client sees the connection drop ("received no bytes") instead of the 503 or 413
 * it was given. The answer carries {@code Connection: close}, so a client stops sending once it reads it.
 */
final class LingeringClose {

  /** At most this long is spent draining, */
  static final long MAX_MILLIS = 2_000;
  /** and at most this much of the body is read and dropped, before the connection is closed regardless. */
  static final long MAX_BYTES = 8L * 1024 * 1024;

  private LingeringClose() {
  }

  /** Drains what is left of the request body of {@code ctx} (bounded), then closes its connection. */
  static void after(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    HttpConnection connection = request.connection();
    if (request.isEnded()) {
      connection.close();
      return;
    }
    long[] left = {MAX_BYTES};
    long timer = ctx.vertx().setTimer(MAX_MILLIS, id -> connection.close());
    Runnable done = () -> {
      ctx.vertx().cancelTimer(timer);
      connection.close();
    };
    try {
      request.exceptionHandler(err -> done.run());
      request.endHandler(v -> done.run());
      request.handler(chunk -> {
        left[0] -= chunk.length();
        if (left[0] < 0) {
          done.run();
        }
      });
      request.resume();
    } catch (IllegalStateException alreadyRead) {
      // The body was taken by a handler that failed (it cannot be read twice): close now.
      done.run();
    }
  }
}
