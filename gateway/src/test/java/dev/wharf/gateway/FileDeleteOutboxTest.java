package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.processedFile;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.DeliveryConfig;
import dev.wharf.delivery.DeliverySweeper;
import io.vertx.core.Future;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A file delete records the file's object in the object-delete outbox in the same transaction as the
 * row's delete, so the object goes even when storage is down at the moment of the delete.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class FileDeleteOutboxTest {

  static TestStack stack;
  static DeliverySweeper sweeper;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    var s = stack.app.services();
    DeliveryConfig config = s.config().deliveries();
    sweeper = new DeliverySweeper(s.pool(), s.blobs(), config, s.metrics());
  }

  /** Runs passes until one ran as leader (the app's own sweeper may hold the lock for a moment). */
  static Future<Void> sweep() {
    return stack.eventually(Duration.ofSeconds(20), () -> sweeper.runOnce().map(s -> s != null));
  }

  /** Object keys under the tenant's prefix (s3proxy's folder store also lists folder markers; those are left out). */
  static Future<List<String>> objects(TestStack.Tenant t) {
    return stack.objectKeys(t.id()).map(keys -> keys.stream().filter(k -> !k.endsWith("/")).toList());
  }

  static Future<Boolean> recorded(String key) {
    return stack.app.services().pool().preparedQuery("SELECT 1 FROM pending_object_deletes WHERE object_key = $1").execute(Tuple.of(key))
        .map(rows -> rows.rowCount() == 1);
  }

  @Test
  void deletingAProcessedFileRemovesItsObjectAndTheSweepClearsTheOutbox(VertxTestContext ctx) {
    stack.newTenant().compose(t -> processedFile(stack, t, "gone.txt", "delete me", "processed").compose(id -> {
      String key = "t/" + t.id() + "/files/" + id;
      return stack.client.delete("/v1/files/" + id).bearerTokenAuthentication(t.tokenA()).send()
          .compose(del -> {
            ctx.verify(() -> assertThat(del.statusCode()).isEqualTo(204));
            return stack.eventually(Duration.ofSeconds(20), () -> sweep().compose(v -> recorded(key)).map(r -> !r));
          })
          .compose(v -> objects(t))
          .map(keys -> {
            ctx.verify(() -> assertThat(keys).as("the object is gone").isEmpty());
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void anObjectWhoseDeleteFailedWhileStorageWasDownIsGoneAfterStorageReturns(VertxTestContext ctx) throws Exception {
    TestStack.Tenant t = await(stack.newTenant());
    String id = await(processedFile(stack, t, "stays-a-while.txt", "storage is down when I am deleted", "processed"));
    String key = "t/" + t.id() + "/files/" + id;
    assertThat(await(objects(t))).containsExactly(key);
    stack.servers.stopS3();
    int status;
    boolean inOutbox;
    try {
      status = await(stack.client.delete("/v1/files/" + id).bearerTokenAuthentication(t.tokenA()).send()).statusCode();
      inOutbox = await(recorded(key));
    } finally {
      stack.servers.startS3Again();
    }
    assertThat(status).as("the row is gone; the object waits in the outbox").isEqualTo(204);
    assertThat(inOutbox).isTrue();
    assertThat(await(stack.client.get("/v1/files/" + id).bearerTokenAuthentication(t.tokenA()).send()).statusCode()).isEqualTo(404);
    stack.eventually(Duration.ofSeconds(60), () -> sweep().compose(v -> objects(t)).map(List::isEmpty))
        .compose(v -> recorded(key))
        .onComplete(ctx.succeeding(stillRecorded -> ctx.verify(() -> {
          assertThat(stillRecorded).as("outbox row removed after the object").isFalse();
          ctx.completeNow();
        })));
  }

  static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
