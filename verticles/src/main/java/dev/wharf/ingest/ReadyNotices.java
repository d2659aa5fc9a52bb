package dev.wharf.ingest;

import io.vertx.core.Vertx;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The queue's ready notices, at most one per {@link #WINDOW_MS}: the first is sent at once, and all those asked for
 * during a window go as one more notice when it ends. So every job made ready is followed by a notice sent after it
 * (no idle worker misses its wake-up, it comes at most one window later), and a burst of enqueues costs one notice
 * per window instead of one each: a notice is an event-bus publish, a Redis {@code PUBLISH} through the relay and a
 * message that every replica decodes.
 *
 * <p>Safe to call from any thread: the state is one atomic integer.
 */
final class ReadyNotices {

  /** The longest a notice is held back. */
  static final long WINDOW_MS = 10;

  private static final int IDLE = 0;
  private static final int OPEN = 1;
  private static final int PENDING = 2;

  private final Vertx vertx;
  private final Runnable send;
  private final AtomicInteger state = new AtomicInteger(IDLE);
  private final LongAdder sent = new LongAdder();

  ReadyNotices(Vertx vertx, Runnable send) {
    this.vertx = vertx;
    this.send = send;
  }

  /** A job became ready: a notice goes now, or at the end of the window already open. */
  void request() {
    while (true) {
      int now = state.get();
      if (now == PENDING) {
        return;
      }
      if (now == IDLE && state.compareAndSet(IDLE, OPEN)) {
        sendAndOpen();
        return;
      }
      if (now == OPEN && state.compareAndSet(OPEN, PENDING)) {
        return;
      }
    }
  }

  /** Notices sent so far. */
  long sent() {
    return sent.sum();
  }

  private void sendAndOpen() {
    sent.increment();
    send.run();
    try {
      vertx.setTimer(WINDOW_MS, id -> close());
    } catch (RuntimeException closing) {
      // Vert.x is closing: nobody is left to wake.
      state.set(IDLE);
    }
  }

  private void close() {
    while (true) {
      int now = state.get();
      if (now == PENDING && state.compareAndSet(PENDING, OPEN)) {
        sendAndOpen();
        return;
      }
      if (now == OPEN && state.compareAndSet(OPEN, IDLE)) {
        return;
      }
      if (now == IDLE) {
        // No window is open (there is one timer per window, so this should not happen): never spin on an event loop.
        return;
      }
    }
  }
}
