package dev.wharf.ingest;

import dev.wharf.ingest.IngestQueue.Lease;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Completions and extensions of leases, sent to the queue in batches without waiting for a batch to fill: a
 * call goes out at once when none of its kind is in flight; calls made meanwhile wait and go out together, as
 * one script run, when the one in flight answers. So a lone call costs one round trip, and many jobs ending
 * at once share one. Each lease is still checked against its own token: a lost lease answers false for that
 * job alone. Confined to one Vert.x context (one worker verticle): not thread-safe.
 */
public final class LeaseBatches {

  /** The most leases in one script run. */
  static final int MAX_BATCH = 500;

  private final Batch completions;
  private final Batch extensions;

  public LeaseBatches(IngestQueue queue, Duration leaseTime) {
    this.completions = new Batch(queue::complete);
    this.extensions = new Batch(leases -> queue.extend(leases, leaseTime));
  }

  /** Completes the lease's job, batched with other completions; false when the lease was lost. */
  public Future<Boolean> complete(Lease lease) {
    return completions.add(lease);
  }

  /** Extends the lease by the lease time, batched with other extensions; false when the lease was lost. */
  public Future<Boolean> extend(Lease lease) {
    return extensions.add(lease);
  }

  private static final class Batch {
    private final Function<List<Lease>, Future<List<Boolean>>> send;
    private List<Lease> waiting = new ArrayList<>();
    private List<Promise<Boolean>> answers = new ArrayList<>();
    private boolean inFlight;

    Batch(Function<List<Lease>, Future<List<Boolean>>> send) {
      this.send = send;
    }

    Future<Boolean> add(Lease lease) {
      Promise<Boolean> answer = Promise.promise();
      waiting.add(lease);
      answers.add(answer);
      if (!inFlight) {
        flush();
      }
      return answer.future();
    }

    private void flush() {
      if (waiting.isEmpty()) {
        return;
      }
      int n = Math.min(waiting.size(), MAX_BATCH);
      List<Lease> leases = new ArrayList<>(waiting.subList(0, n));
      List<Promise<Boolean>> promises = new ArrayList<>(answers.subList(0, n));
      waiting = new ArrayList<>(waiting.subList(n, waiting.size()));
      answers = new ArrayList<>(answers.subList(n, answers.size()));
      inFlight = true;
      Future<List<Boolean>> call;
      try {
        call = send.apply(leases);
      } catch (RuntimeException e) {
        call = Future.failedFuture(e);
      }
      call.onComplete(ar -> {
        inFlight = false;
        for (int i = 0; i < promises.size(); i++) {
          if (ar.succeeded()) {
            promises.get(i).complete(ar.result().get(i));
          } else {
            promises.get(i).fail(ar.cause());
          }
        }
        flush();
      });
    }
  }
}
