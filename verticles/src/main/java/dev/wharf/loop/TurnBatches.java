package dev.wharf.loop;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Requests made on one event loop in the same turn, sent together: the event loop reads every ready connection
 * before it runs its queued tasks, so the requests those reads made leave as one call when the turn's tasks run,
 * instead of one call each. A request alone in its turn is sent alone ({@code one}), and nothing waits for company:
 * a batch leaves in the turn it was gathered, at most {@code maxBatch} requests per call. Off an event loop (a
 * worker, a test thread) each request is sent alone.
 *
 * <p>One instance serves every event loop of a process; each loop's batch is its own (a thread-local), touched by
 * that loop only.
 *
 * @param <Q> a request
 * @param <A> its answer
 */
public final class TurnBatches<Q, A> {

  private final int maxBatch;
  private final Function<Q, Future<A>> one;
  private final Function<List<Q>, Future<List<A>>> many;
  private final Predicate<Throwable> sendAloneAfter;
  private final ThreadLocal<Batch<Q, A>> batches = ThreadLocal.withInitial(Batch::new);
  private final LongAdder calls = new LongAdder();

  /**
   * @param one sends one request
   * @param many sends several (two or more, at most {@code maxBatch}); answers them in request order
   */
  public TurnBatches(int maxBatch, Function<Q, Future<A>> one, Function<List<Q>, Future<List<A>>> many) {
    this(maxBatch, one, many, err -> false);
  }

  /**
   * As {@link #TurnBatches(int, Function, Function)}, for calls that stand or fall together (one statement, one
   * transaction): when a batch fails with an error {@code sendAloneAfter} accepts (one that is known to have changed
   * nothing, such as a statement PostgreSQL refused), each of its requests is sent again alone, so one request's
   * fault fails that request only. Any other failure fails the whole batch.
   */
  public TurnBatches(int maxBatch, Function<Q, Future<A>> one, Function<List<Q>, Future<List<A>>> many,
      Predicate<Throwable> sendAloneAfter) {
    if (maxBatch < 2) {
      throw new IllegalArgumentException("a batch holds at least two requests: " + maxBatch);
    }
    this.maxBatch = maxBatch;
    this.one = one;
    this.many = many;
    this.sendAloneAfter = sendAloneAfter;
  }

  /** The answer to {@code request}, sent alone or with the others of this turn. */
  public Future<A> submit(Q request) {
    Context context = Vertx.currentContext();
    if (context == null || !context.isEventLoopContext()) {
      calls.increment();
      return call(() -> one.apply(request));
    }
    Batch<Q, A> batch = batches.get();
    Promise<A> answer = Promise.promise();
    batch.pending.add(new Pending<>(request, answer));
    if (!batch.scheduled) {
      batch.scheduled = true;
      context.runOnContext(v -> send(batch));
    }
    return answer.future();
  }

  /** Calls made so far (a batch counts once). */
  public long calls() {
    return calls.sum();
  }

  private void send(Batch<Q, A> batch) {
    List<Pending<Q, A>> all = batch.pending;
    batch.pending = new ArrayList<>();
    batch.scheduled = false;
    for (int from = 0; from < all.size(); from += maxBatch) {
      send(all.subList(from, Math.min(all.size(), from + maxBatch)));
    }
  }

  private void send(List<Pending<Q, A>> group) {
    calls.increment();
    if (group.size() == 1) {
      Pending<Q, A> only = group.get(0);
      call(() -> one.apply(only.request)).onComplete(only.answer);
      return;
    }
    List<Q> requests = new ArrayList<>(group.size());
    group.forEach(p -> requests.add(p.request));
    call(() -> many.apply(requests)).onComplete(ar -> {
      if (ar.failed() && sendAloneAfter.test(ar.cause())) {
        for (Pending<Q, A> p : group) {
          calls.increment();
          call(() -> one.apply(p.request)).onComplete(p.answer);
        }
        return;
      }
      for (int i = 0; i < group.size(); i++) {
        if (ar.succeeded()) {
          group.get(i).answer.complete(ar.result().get(i));
        } else {
          group.get(i).answer.fail(ar.cause());
        }
      }
    });
  }

  /** A send that throws instead of failing its future fails it all the same. */
  private static <T> Future<T> call(java.util.function.Supplier<Future<T>> send) {
    try {
      return send.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  private record Pending<Q, A>(Q request, Promise<A> answer) {}

  private static final class Batch<Q, A> {
    List<Pending<Q, A>> pending = new ArrayList<>();
    boolean scheduled;
  }
}
