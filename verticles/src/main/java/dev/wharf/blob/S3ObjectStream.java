package dev.wharf.blob;

import dev.wharf.error.ServerException;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.streams.ReadStream;
import java.util.concurrent.TimeoutException;

/**
 * The body of an S3 {@code GET} as it arrives on the Vert.x client, with backpressure carried straight to
 * the connection ({@link #pause()} stops reading the socket) and an idle timeout: when the reader wants
 * bytes and none came for {@code idleMillis}, the exchange is reset and the stream fails with 503
 * {@code storage_unavailable}. Time spent paused by the reader does not count, so a slow client is not cut.
 *
 * <p>The response is paused when this stream is made and flows once a handler is set (unless paused), as a
 * {@link ReadStream} does. Time spent paused before any handler was set counts as idle. Setting the handler to {@code null} before the end, as a failed {@code pipeTo}
 * does, resets the exchange and so releases the connection. Everything runs on the caller's context.
 */
final class S3ObjectStream implements ReadStream<Buffer> {

  private final Vertx vertx;
  private final HttpClientResponse response;
  private final long idleNanos;
  private final long timer;

  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private boolean paused;
  private boolean terminated;
  private long lastProgress = System.nanoTime();

  S3ObjectStream(Vertx vertx, HttpClientResponse response, long idleMillis) {
    this.vertx = vertx;
    this.response = response;
    this.idleNanos = idleMillis * 1_000_000L;
    response.pause();
    response.handler(data -> {
      lastProgress = System.nanoTime();
      if (handler != null) {
        handler.handle(data);
      }
    });
    response.endHandler(v -> {
      if (terminate() && endHandler != null) {
        endHandler.handle(null);
      }
    });
    response.exceptionHandler(e -> fail(S3Failures.unavailable(e)));
    this.timer = vertx.setPeriodic(Math.max(50, idleMillis / 4), id -> checkIdle());
  }

  @Override
  public S3ObjectStream handler(Handler<Buffer> handler) {
    Handler<Buffer> previous = this.handler;
    this.handler = handler;
    if (handler == null) {
      if (previous != null && !terminated) {
        terminate();
        response.request().reset();
      }
    } else if (!paused && !terminated) {
      lastProgress = System.nanoTime();
      response.resume();
    }
    return this;
  }

  @Override
  public S3ObjectStream endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public S3ObjectStream exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  @Override
  public S3ObjectStream pause() {
    paused = true;
    response.pause();
    return this;
  }

  @Override
  public S3ObjectStream resume() {
    paused = false;
    lastProgress = System.nanoTime();
    if (handler != null) {
      response.resume();
    }
    return this;
  }

  @Override
  public S3ObjectStream fetch(long amount) {
    lastProgress = System.nanoTime();
    response.fetch(amount);
    return this;
  }

  /**
   * The reader wants bytes (not paused) and none came for the idle time: storage stalled mid-body. A
   * stream nobody reads (no handler, e.g. opened after its caller gave up and paused it) is also ended
   * after that time, so it cannot hold a pooled connection for good.
   */
  private void checkIdle() {
    if (terminated || (paused && handler != null)) {
      return;
    }
    if (System.nanoTime() - lastProgress >= idleNanos) {
      fail(ServerException.unavailable("storage", new TimeoutException(
          "no bytes from storage for " + idleNanos / 1_000_000 + " ms in the middle of an object read")));
      response.request().reset();
    }
  }

  private void fail(Throwable failure) {
    if (terminate() && exceptionHandler != null) {
      exceptionHandler.handle(failure);
    }
  }

  /** Ends the stream once: cancels the idle watch. Answers false when it had already ended. */
  private boolean terminate() {
    if (terminated) {
      return false;
    }
    terminated = true;
    vertx.cancelTimer(timer);
    return true;
  }
}
