package dev.wharf.gateway.http;

import dev.wharf.error.ServerException;
import io.vertx.core.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The uploads one gateway process streams at once (file uploads, grant PUTs, multipart stagings share the
 * cap). Past it an upload is shed with 503 {@code overloaded} and Retry-After instead of queueing without
 * bound. The counter is the {@code wharf_uploads_in_flight} gauge; {@code onShed} hears of each upload shed
 * (the gateway counts it as {@code wharf_uploads_total{outcome="overloaded"}}).
 */
public final class UploadSlots {

  private final int max;
  private final AtomicLong inFlight;
  private final Runnable onShed;

  public UploadSlots(int max, AtomicLong inFlight) {
    this(max, inFlight, () -> { });
  }

  public UploadSlots(int max, AtomicLong inFlight, Runnable onShed) {
    this.max = max;
    this.inFlight = inFlight;
    this.onShed = onShed;
  }

  /** Runs {@code upload} in a slot, freed when it ends; fails at once when every slot is taken. */
  public <T> Future<T> run(Supplier<Future<T>> upload) {
    if (inFlight.incrementAndGet() > max) {
      inFlight.decrementAndGet();
      onShed.run();
      return Future.failedFuture(ServerException.overloaded("too many uploads in flight on this gateway, retry shortly"));
    }
    Future<T> running;
    try {
      running = upload.get();
    } catch (RuntimeException e) {
      inFlight.decrementAndGet();
      return Future.failedFuture(e);
    }
    return running.andThen(ar -> inFlight.decrementAndGet());
  }
}
