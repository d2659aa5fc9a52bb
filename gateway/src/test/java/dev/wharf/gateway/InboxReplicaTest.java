package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.poll;
import static dev.wharf.gateway.DeliveryTesting.stageOne;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.delivery.DeliveryService;
import dev.wharf.gateway.DeliveryTesting.Replica;
import dev.wharf.ingest.IngestWorker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two gateway processes on the same servers and Redis namespace: notices cross between them over Redis. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class InboxReplicaTest {

  static TestStack stack;
  static Replica replica;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    replica = Replica.start(stack, Map.of()).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    replica.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aStagingOnOneGatewayWakesAPollHeldByAnother(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      Future<JsonArray> held = poll(replica.client, t.tokenA(), 60);
      return stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(replica.app.services().deliveries().pollsHeld().get() > 0))
          .compose(v -> stageOne(stack.client, t, t.deviceA(), "across.txt", "from the other gateway"))
          .compose(id -> held.map(items -> {
            ctx.verify(() -> assertThat(items.stream().map(o -> ((JsonObject) o).getString("id")).toList()).containsExactly(id));
            return null;
          }));
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void inboxNoticesAndFileStatusReachTheOtherProcessesEventBus(VertxTestContext ctx) {
    Promise<JsonObject> notice = Promise.promise();
    Promise<JsonObject> status = Promise.promise();
    var noticeConsumer = replica.vertx.eventBus().<JsonObject>localConsumer(DeliveryService.NOTICE_ADDRESS, m -> notice.tryComplete(m.body()));
    var statusConsumer = replica.vertx.eventBus().<JsonObject>localConsumer(IngestWorker.FILE_STATUS_ADDRESS, m -> status.tryComplete(m.body()));
    JsonObject fileStatus = new JsonObject().put("tenant", "t-x").put("device", "d").put("file_id", java.util.UUID.randomUUID().toString())
        .put("status", "processed");
    Future.all(noticeConsumer.completion(), statusConsumer.completion())
        .compose(v -> stack.newTenant())
        .compose(t -> stageOne(stack.client, t, t.deviceB(), "n.txt", "notice me").map(id -> new String[] {t.id(), id}))
        .compose(ids -> {
          stack.vertx.eventBus().publish(IngestWorker.FILE_STATUS_ADDRESS, fileStatus);
          return Future.all(notice.future(), status.future()).map(both -> {
            ctx.verify(() -> {
              JsonObject n = both.resultAt(0);
              assertThat(n.fieldNames()).containsExactlyInAnyOrder("tenant", "device", "id", "filename", "size", "sha256", "expires_at");
              assertThat(n.getString("tenant")).isEqualTo(ids[0]);
              assertThat(n.getString("id")).isEqualTo(ids[1]);
              assertThat(n.getString("filename")).isEqualTo("n.txt");
              assertThat((JsonObject) both.resultAt(1)).isEqualTo(fileStatus);
            });
            return null;
          });
        })
        .eventually(() -> Future.all(noticeConsumer.unregister(), statusConsumer.unregister()))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void pollsEndWhenTheirGatewayStopsAndResumeWhenItIsBack(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      Future<JsonArray> held = poll(replica.client, t.tokenA(), 60);
      return stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(replica.app.services().deliveries().pollsHeld().get() > 0))
          .compose(v -> replica.stop())
          // The held poll is answered (empty) or cut; either way it ends rather than hangs.
          .compose(v -> held.transform(ar -> Future.succeededFuture(ar.succeeded() ? ar.result().size() : -1)))
          .compose(ended -> {
            ctx.verify(() -> assertThat(ended).isIn(0, -1));
            return stageOne(stack.client, t, t.deviceA(), "while-down.txt", "staged while the replica was down");
          })
          .compose(id -> replica.startAgain(stack)
              .compose(r -> poll(replica.client, t.tokenA(), 30))
              .map(items -> {
                ctx.verify(() -> assertThat(items.stream().map(o -> ((JsonObject) o).getString("id")).toList()).containsExactly(id));
                return null;
              }));
    }).onComplete(ctx.succeedingThenComplete());
  }
}
