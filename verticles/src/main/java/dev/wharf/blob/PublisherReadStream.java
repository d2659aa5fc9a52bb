package dev.wharf.blob;

import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * A Vert.x {@link ReadStream} over a reactive-streams {@link Publisher} of byte buffers (an S3 object body),
 * with backpressure carried through: the subscription is asked for more only while the reader has demand
 * ({@link #resume()}, {@link #fetch(long)}) and a handler, a few chunks ahead at most. A slow reader (a
 * slow HTTP client behind {@code pipeTo}) therefore slows the S3 read instead of filling memory: what is
 * held per read is the prefetched chunks plus the HTTP client's read window.
 *
 * <p>Publisher signals arrive on the SDK's threads and are handed to {@code context}; every handler is
 * called there and all state is touched only there. Nothing is requested until a handler is set. Setting
 * the handler to {@code null} before the end, as a failed {@code pipeTo} does, cancels the subscription and
 * releases the connection.
 */
final class PublisherReadStream implements ReadStream<Buffer>, Subscriber<ByteBuffer> {

  /** Chunks requested ahead of the reader's demand. */
  private static final int PREFETCH = 4;

  private final Context context;
  private final ArrayDeque<Buffer> queue = new ArrayDeque<>();

  private Subscription subscription;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private long demand = Long.MAX_VALUE;
  private int requested;
  private boolean completed;
  private Throwable failure;
  private boolean terminated;
  private boolean cancelled;
  private boolean emitting;

  private PublisherReadStream(Context context) {
    this.context = context;
  }

  /** Subscribes to {@code publisher}; the stream delivers on {@code context}. */
  static PublisherReadStream subscribe(Publisher<ByteBuffer> publisher, Context context) {
    PublisherReadStream stream = new PublisherReadStream(context);
    publisher.subscribe(stream);
    return stream;
  }

  // Reader side, on the context.

  @Override
  public PublisherReadStream handler(Handler<Buffer> handler) {
    onContext(() -> {
      boolean wasSet = this.handler != null;
      this.handler = handler;
      if (handler == null && wasSet && !terminated) {
        cancel();
      } else {
        pump();
      }
    });
    return this;
  }

  @Override
  public PublisherReadStream endHandler(Handler<Void> endHandler) {
    onContext(() -> this.endHandler = endHandler);
    return this;
  }

  @Override
  public PublisherReadStream exceptionHandler(Handler<Throwable> handler) {
    onContext(() -> this.exceptionHandler = handler);
    return this;
  }

  @Override
  public PublisherReadStream pause() {
    onContext(() -> demand = 0);
    return this;
  }

  @Override
  public PublisherReadStream resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public PublisherReadStream fetch(long amount) {
    if (amount < 0) {
      throw new IllegalArgumentException("negative fetch " + amount);
    }
    onContext(() -> {
      demand = demand > Long.MAX_VALUE - amount ? Long.MAX_VALUE : demand + amount;
      pump();
    });
    return this;
  }

  // Publisher side, on SDK threads: each signal is handed to the context in the order it came.

  @Override
  public void onSubscribe(Subscription s) {
    context.runOnContext(v -> {
      if (subscription != null || cancelled) {
        s.cancel();
        return;
      }
      subscription = s;
      pump();
    });
  }

  @Override
  public void onNext(ByteBuffer bytes) {
    Buffer chunk = toBuffer(bytes);
    context.runOnContext(v -> {
      requested--;
      if (!cancelled) {
        queue.add(chunk);
        pump();
      }
    });
  }

  @Override
  public void onError(Throwable error) {
    context.runOnContext(v -> {
      failure = S3Failures.unavailable(error);
      pump();
    });
  }

  @Override
  public void onComplete() {
    context.runOnContext(v -> {
      completed = true;
      pump();
    });
  }

  /**
   * Reports a failure at once; otherwise delivers what demand allows, then the end once the queue is
   * empty, then asks for more.
   */
  private void pump() {
    if (emitting || cancelled || terminated) {
      return;
    }
    emitting = true;
    try {
      if (failure != null) {
        terminated = true;
        queue.clear();
        if (exceptionHandler != null) {
          exceptionHandler.handle(failure);
        }
        return;
      }
      while (demand > 0 && handler != null && !queue.isEmpty()) {
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        handler.handle(queue.poll());
      }
      if (demand == 0 || handler == null || cancelled) {
        return;
      }
      if (completed && queue.isEmpty()) {
        terminated = true;
        if (endHandler != null) {
          endHandler.handle(null);
        }
        return;
      }
      int wanted = PREFETCH - queue.size() - requested;
      if (!completed && subscription != null && wanted > 0) {
        requested += wanted;
        subscription.request(wanted);
      }
    } finally {
      emitting = false;
    }
  }

  private void cancel() {
    cancelled = true;
    queue.clear();
    if (subscription != null) {
      subscription.cancel();
    }
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** Wraps the chunk without copying it; the publisher hands each chunk over for good. */
  private static Buffer toBuffer(ByteBuffer bytes) {
    return BufferInternal.buffer(Unpooled.wrappedBuffer(bytes));
  }
}
