package dev.wharf.delivery;

import dev.wharf.error.ServerException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The inbox long-polls one API verticle instance holds. Create, start and use it on that verticle's
 * context only: it is not thread-safe and needs no locks because everything runs on one event loop.
 *
 * <p>A poll is a check (the inbox query, the truth) re-run on every notice for its device on
 * {@link DeliveryService#NOTICE_ADDRESS} and once more at its deadline. A waiter is registered before its
 * first check, and a notice that arrives while a check runs makes it run again, so no wake-up falls in a
 * gap; a wake-up lost upstream costs latency until the deadline, never a delivery.
 */
public final class InboxWaiters {

  private final Vertx vertx;
  private final AtomicInteger held;
  private final int maxHeld;
  private final Map<String, Set<Waiter<?>>> byDevice = new HashMap<>();
  private MessageConsumer<JsonObject> consumer;

  /** {@code held} counts polls across the process (shared with the other instances); past {@code maxHeld} polls get 503. */
  public InboxWaiters(Vertx vertx, AtomicInteger held, int maxHeld) {
    this.vertx = vertx;
    this.held = held;
    this.maxHeld = maxHeld;
  }

  /** Subscribes to inbox notices on the local event bus, on the calling verticle's context. */
  public Future<Void> start() {
    consumer = vertx.eventBus().localConsumer(DeliveryService.NOTICE_ADDRESS, msg -> {
      JsonObject notice = msg.body();
      if (notice != null) {
        wake(notice.getString("tenant"), notice.getString("device"));
      }
    });
    return consumer.completion();
  }

  /**
   * Answers every held poll now with what its check finds, and stops listening. For a graceful stop: the
   * devices get an answer and poll again, here or elsewhere.
   */
  public Future<Void> releaseAll() {
    List<Future<?>> answered = new ArrayList<>();
    for (Set<Waiter<?>> waiters : List.copyOf(byDevice.values())) {
      for (Waiter<?> w : List.copyOf(waiters)) {
        answered.add(w.promise.future());
        w.expire();
      }
    }
    Future<Void> unsubscribed = consumer == null ? Future.succeededFuture() : consumer.unregister();
    return Future.join(answered).transform(ar -> unsubscribed);
  }

  /** Polls held by this instance. */
  public int size() {
    return byDevice.values().stream().mapToInt(Set::size).sum();
  }

  /** A poll in progress; {@link #cancel} it when its client goes away. */
  public interface Hold<T> {
    Future<T> future();

    void cancel();
  }

  /**
   * Holds a poll for the device: runs {@code firstCheck} now, and {@code check} on each notice for the device, until
   * a result satisfies {@code found}; at {@code waitMillis} (0: at once) runs {@code check} once more and answers with
   * its result whatever it is. {@code firstCheck} may answer from what the process remembers; {@code check} must read
   * the truth. 503 {@code overloaded} when the process holds its maximum of polls.
   */
  public <T> Hold<T> hold(String tenantId, String deviceId, long waitMillis, Supplier<Future<T>> firstCheck, Supplier<Future<T>> check,
      Predicate<T> found) {
    Waiter<T> w = new Waiter<>(key(tenantId, deviceId), firstCheck, check, found);
    if (held.incrementAndGet() > maxHeld) {
      held.decrementAndGet();
      w.done = true;
      w.promise.fail(ServerException.overloaded("this gateway holds too many inbox polls, retry shortly"));
      return w;
    }
    byDevice.computeIfAbsent(w.key, k -> new LinkedHashSet<>()).add(w);
    if (waitMillis <= 0) {
      w.expired = true;
    } else {
      w.timer = vertx.setTimer(waitMillis, id -> w.expire());
    }
    w.run();
    return w;
  }

  private void wake(String tenantId, String deviceId) {
    Set<Waiter<?>> waiters = byDevice.get(key(tenantId, deviceId));
    if (waiters != null) {
      List.copyOf(waiters).forEach(Waiter::run);
    }
  }

  private static String key(String tenantId, String deviceId) {
    return DeliveryService.inboxKey(tenantId, deviceId);
  }

  private final class Waiter<T> implements Hold<T> {
    final String key;
    Supplier<Future<T>> next;
    final Supplier<Future<T>> check;
    final Predicate<T> found;
    final Promise<T> promise = Promise.promise();
    long timer = -1;
    boolean checking;
    boolean again;
    boolean expired;
    boolean done;

    Waiter(String key, Supplier<Future<T>> firstCheck, Supplier<Future<T>> check, Predicate<T> found) {
      this.key = key;
      this.next = firstCheck;
      this.check = check;
      this.found = found;
    }

    @Override
    public Future<T> future() {
      return promise.future();
    }

    void expire() {
      expired = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      run();
    }

    void run() {
      if (done) {
        return;
      }
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      Supplier<Future<T>> look = next;
      next = check;
      Future<T> result;
      try {
        result = look.get();
      } catch (RuntimeException e) {
        result = Future.failedFuture(e);
      }
      result.onComplete(ar -> {
        checking = false;
        if (done) {
          return;
        }
        if (ar.failed()) {
          finish(() -> promise.tryFail(ar.cause()));
        } else if (found.test(ar.result())) {
          finish(() -> promise.tryComplete(ar.result()));
        } else if (again) {
          again = false;
          run();
        } else if (expired) {
          finish(() -> promise.tryComplete(ar.result()));
        }
      });
    }

    @Override
    public void cancel() {
      finish(() -> promise.tryFail("the client went away"));
    }

    private void finish(Runnable answer) {
      if (done) {
        return;
      }
      done = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      Set<Waiter<?>> waiters = byDevice.get(key);
      if (waiters != null && waiters.remove(this) && waiters.isEmpty()) {
        byDevice.remove(key);
      }
      held.decrementAndGet();
      answer.run();
    }
  }
}
