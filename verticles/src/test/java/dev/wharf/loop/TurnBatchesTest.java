package dev.wharf.loop;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How {@link TurnBatches} groups requests, driven on a real event loop with calls the test answers by hand: what
 * leaves together, in what order the answers come back, and what a refused batch does.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TurnBatchesTest {

  private final Vertx vertx = Vertx.vertx();
  private final Context loop = vertx.getOrCreateContext();
  /** Every call made, in order: the requests it carried and the promise that answers it. */
  private final List<Call> made = new CopyOnWriteArrayList<>();

  record Call(List<String> requests, Promise<List<String>> answer) {}

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private TurnBatches<String, String> batches(boolean splitWhenRefused) {
    return new TurnBatches<>(8,
        one -> record(List.of(one)).map(answers -> answers.get(0)),
        this::record,
        err -> splitWhenRefused && err.getMessage().startsWith("refused"));
  }

  private Future<List<String>> record(List<String> requests) {
    Promise<List<String>> answer = Promise.promise();
    made.add(new Call(List.copyOf(requests), answer));
    return answer.future();
  }

  @Test
  void eachTurnLeavesAtTheEndOfThatTurnWithNoWaitForTheCallBeforeIt() throws Exception {
    TurnBatches<String, String> batches = batches(false);
    onLoop(() -> batches.submit("a"));
    awaitCalls(1);
    onLoop(() -> {
      batches.submit("b");
      batches.submit("c");
      return null;
    });
    awaitCalls(2);
    assertThat(made.get(1).requests()).containsExactly("b", "c");
  }

  @Test
  void aRefusedBatchIsSentAgainRequestByRequestAndAnOtherFailureFailsItAll() throws Exception {
    TurnBatches<String, String> batches = batches(true);
    List<Future<String>> first = onLoop(() -> List.of(batches.submit("good"), batches.submit("bad")));
    awaitCalls(1);
    onLoop(() -> {
      made.get(0).answer().fail(new IllegalStateException("refused: bad"));
      return null;
    });
    awaitCalls(3);
    assertThat(made.get(1).requests()).containsExactly("good");
    assertThat(made.get(2).requests()).containsExactly("bad");
    onLoop(() -> {
      made.get(1).answer().complete(List.of("GOOD"));
      made.get(2).answer().fail(new IllegalStateException("refused: bad"));
      return null;
    });
    assertThat(await(first.get(0))).isEqualTo("GOOD");
    assertThat(awaitFailure(first.get(1))).hasMessage("refused: bad");

    List<Future<String>> second = onLoop(() -> List.of(batches.submit("x"), batches.submit("y")));
    awaitCalls(4);
    onLoop(() -> {
      made.get(3).answer().fail(new IllegalStateException("connection lost"));
      return null;
    });
    assertThat(awaitFailure(second.get(0))).hasMessage("connection lost");
    assertThat(awaitFailure(second.get(1))).hasMessage("connection lost");
    assertThat(made).as("not sent again").hasSize(4);
  }

  @Test
  void aTurnLargerThanTheBatchLeavesInSeveralCallsInOrder() throws Exception {
    TurnBatches<String, String> batches = batches(false);
    List<Future<String>> answers = onLoop(() -> {
      List<Future<String>> out = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        out.add(batches.submit("r" + i));
      }
      return out;
    });
    awaitCalls(3);
    assertThat(made.get(0).requests()).hasSize(8).startsWith("r0");
    assertThat(made.get(1).requests()).hasSize(8).startsWith("r8");
    assertThat(made.get(2).requests()).containsExactly("r16", "r17", "r18", "r19");
    onLoop(() -> {
      made.forEach(call -> call.answer().complete(call.requests().stream().map(r -> r.toUpperCase(java.util.Locale.ROOT)).toList()));
      return null;
    });
    for (int i = 0; i < 20; i++) {
      assertThat(await(answers.get(i))).as("each answer to its own request").isEqualTo("R" + i);
    }
    assertThat(batches.calls()).isEqualTo(3);
  }

  @Test
  void offAnEventLoopEachRequestLeavesAlone() throws Exception {
    TurnBatches<String, String> batches = batches(false);
    batches.submit("a");
    batches.submit("b");
    assertThat(made).hasSize(2);
    assertThat(made.get(0).requests()).containsExactly("a");
    assertThat(made.get(1).requests()).containsExactly("b");
  }

  /** Runs {@code task} on the event loop and waits for it (one turn). */
  private <T> T onLoop(Supplier<T> task) throws Exception {
    CompletableFuture<T> done = new CompletableFuture<>();
    loop.runOnContext(v -> done.complete(task.get()));
    return done.get(10, TimeUnit.SECONDS);
  }

  private void awaitCalls(int n) throws Exception {
    // A batch leaves at the end of the turn that gathered it: a later task on the same loop runs after it.
    for (int i = 0; i < 100 && made.size() < n; i++) {
      onLoop(() -> null);
    }
    assertThat(made).hasSizeGreaterThanOrEqualTo(n);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Throwable awaitFailure(Future<?> f) throws Exception {
    return f.transform(ar -> Future.succeededFuture(ar.cause())).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
