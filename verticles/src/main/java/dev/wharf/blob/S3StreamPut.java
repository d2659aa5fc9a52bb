package dev.wharf.blob;

import dev.wharf.error.ClientException;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * One body streamed into S3 as a single {@code PutObject} of its declared length: the other way behind
 * {@link S3BlobStore#put}, for bodies larger than a part whose length is known before the first byte. With an
 * UploadPart's query it streams one part of a multipart upload the same way ({@link S3BlobStore#putPart}).
 *
 * <p>The body's buffers go to S3 as they arrive, hashed on the way; nothing is copied into part arrays and
 * nothing is completed afterwards, so memory per upload is the connection's write queue, not
 * {@code partSize * (partsInFlight + 1)}. Backpressure is Vert.x's own: when S3's connection cannot take
 * more the body is paused, and resumed when it drains. S3 stores a single PUT whole or not at all, so a
 * failure (the body cut short, S3 stalled or answering an error) resets the request and leaves nothing.
 *
 * <p>S3 is given {@code attemptTimeout} to take more bytes once its connection is full, and to answer once
 * the body is sent; how slowly the device sends is the HTTP server's business (its idle timeout). Once
 * bytes flow nothing is retried: the body cannot be read twice.
 *
 * <p>Every handler runs on the caller's context (the body's, and the request's, which Vert.x runs on the
 * context that opened it), so the state needs no locking.
 */
final class S3StreamPut {

  private final Vertx vertx;
  private final S3Http http;
  private final String key;
  private final Map<String, String> query;
  private final String contentType;
  private final ReadStream<Buffer> body;
  private final long length;
  private final long attemptTimeoutMillis;

  private final Promise<Streamed> result = Promise.promise();
  private final MessageDigest sha256 = S3Upload.newSha256();
  private HttpClientRequest request;
  private long received;
  private Buffer withheld;
  private long stallTimer = -1;
  private String etag;
  private boolean done;

  /** What was stored: the byte count, their SHA-256 (lower-case hex) and the ETag S3 answered. */
  record Streamed(long size, String sha256, String etag) {}

  S3StreamPut(Vertx vertx, S3Http http, String key, Map<String, String> query, String contentType, ReadStream<Buffer> body, long length,
      long attemptTimeoutMillis) {
    this.vertx = vertx;
    this.http = http;
    this.key = key;
    this.query = query;
    this.contentType = contentType;
    this.body = body;
    this.length = length;
    this.attemptTimeoutMillis = attemptTimeoutMillis;
  }

  /** Opens the PUT, then takes over the body (its handlers and flow); answers what was stored. */
  Future<Streamed> start() {
    body.pause();
    body.exceptionHandler(this::fail);
    http.openPut(key, query, contentType, length).onComplete(opened -> {
      if (opened.failed()) {
        fail(S3Failures.unavailable(opened.cause()));
        return;
      }
      if (done) {
        opened.result().reset();
        return;
      }
      request = opened.result();
      // A reset (ours, on failure) or a broken connection also fails the response below; this keeps Vert.x from
      // logging it as unhandled.
      request.exceptionHandler(this::fail);
      request.response()
          .compose(response -> response.body().compose(answer -> response.statusCode() / 100 == 2
              ? Future.succeededFuture(etag = response.getHeader("ETag"))
              : Future.failedFuture(S3ErrorResponse.of("PUT", response.statusCode(), answer.toString()))))
          .onComplete(answered -> {
            if (answered.failed()) {
              fail(S3Failures.unavailable(answered.cause()));
            } else if (received == length) {
              succeed();
            } else {
              fail(S3Failures.unavailable(new IllegalStateException("S3 answered before the body was sent")));
            }
          });
      request.drainHandler(v -> {
        cancelStall();
        if (!done) {
          body.resume();
        }
      });
      body.handler(this::onData);
      body.endHandler(v -> onEnd());
      body.resume();
    });
    return result.future();
  }

  private void onData(Buffer data) {
    if (done) {
      return;
    }
    received += data.length();
    if (received > length) {
      fail(ClientException.badRequest("body_too_long", "the body is longer than its Content-Length of " + length + " bytes"));
      return;
    }
    ByteBuf bytes = ((BufferInternal) data).getByteBuf();
    for (ByteBuffer piece : bytes.nioBuffers()) {
      sha256.update(piece);
    }
    // The newest buffer is held back until the next one or the end: S3 stores a PUT once it has every
    // declared byte, so the last of them must wait until the body has shown it is not longer than declared.
    Buffer previous = withheld;
    withheld = data;
    if (previous != null) {
      request.write(previous);
    }
    if (request.writeQueueFull()) {
      body.pause();
      startStall("take more of the body");
    }
  }

  private void onEnd() {
    if (done) {
      return;
    }
    if (received != length) {
      fail(ClientException.badRequest("body_too_short", "the body ended after " + received + " of its " + length + " bytes"));
      return;
    }
    if (withheld != null) {
      request.end(withheld);
      withheld = null;
    } else {
      request.end();
    }
    startStall("answer once the body was sent");
  }

  /** S3 must make progress within the attempt timeout once it is the one holding things up. */
  private void startStall(String what) {
    cancelStall();
    stallTimer = vertx.setTimer(attemptTimeoutMillis, t -> {
      stallTimer = -1;
      fail(S3Failures.unavailable(new TimeoutException("S3 did not " + what + " within " + attemptTimeoutMillis + " ms")));
    });
  }

  private void cancelStall() {
    if (stallTimer >= 0) {
      vertx.cancelTimer(stallTimer);
      stallTimer = -1;
    }
  }

  private void succeed() {
    if (done) {
      return;
    }
    done = true;
    cancelStall();
    http.releaseStream();
    result.complete(new Streamed(received, HexFormat.of().formatHex(sha256.digest()), etag));
  }

  /** Resets the PUT (S3 keeps nothing of a single PUT that did not finish) and fails the result. */
  private void fail(Throwable cause) {
    if (done) {
      return;
    }
    done = true;
    cancelStall();
    http.releaseStream();
    body.pause();
    withheld = null;
    if (request != null) {
      request.reset();
    }
    result.fail(cause);
  }
}
