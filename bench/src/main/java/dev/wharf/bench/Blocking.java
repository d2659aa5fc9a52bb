package dev.wharf.bench;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where the benchmark driver's own thread waits for asynchronous work to finish. Only the driver's main
 * thread calls it, never a Vert.x event loop.
 */
final class Blocking {

  private Blocking() {}

  static <T> T await(Future<T> future, Duration timeout) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    future.onComplete(ar -> done.countDown());
    if (!done.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new TimeoutException("no result within " + timeout);
    }
    if (future.failed()) {
      Throwable cause = future.cause();
      throw cause instanceof Exception e ? e : new RuntimeException(cause);
    }
    return future.result();
  }
}
