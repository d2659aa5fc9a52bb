package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.processedFile;
import static dev.wharf.gateway.DeliveryTesting.senderView;
import static dev.wharf.gateway.DeliveryTesting.sql;
import static dev.wharf.gateway.DeliveryTesting.stageOne;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.DeliveryConfig;
import dev.wharf.delivery.DeliverySweeper;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sweeper expires what outlived its TTL, removes what is done and past retention, and keeps objects still in use. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class DeliverySweeperTest {

  static TestStack stack;
  static DeliverySweeper sweeper;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    var s = stack.app.services();
    DeliveryConfig base = s.config().deliveries();
    DeliveryConfig noRetention = new DeliveryConfig(base.ttl(), base.minTtl(), base.maxTtl(), Duration.ZERO, base.maxFiles(),
        base.maxFileBytes(), base.maxWait(), base.inboxLimit(), base.maxPolls(), base.sweepInterval(), base.quietTtl());
    sweeper = new DeliverySweeper(s.pool(), s.blobs(), noRetention, s.metrics());
  }

  /** Runs passes until one ran as leader (the app's own sweeper may hold the lock for a moment). */
  static Future<DeliverySweeper.Sweep> sweep() {
    DeliverySweeper.Sweep[] last = {null};
    return stack.eventually(Duration.ofSeconds(20), () -> sweeper.runOnce().map(s -> {
      last[0] = s;
      return s != null;
    })).map(v -> last[0]);
  }

  static Future<List<String>> objects(Tenant t) {
    return stack.objectKeys(t.id()).map(keys -> keys.stream().filter(k -> !k.endsWith("/")).toList());
  }

  @Test
  void expiredAndFinishedDeliveriesAreRemovedButAFilesObjectIsKept(VertxTestContext ctx) {
    stack.newTenant().compose(t -> processedFile(stack, t, "shared.txt", "kept by the file", "processed").compose(fileId ->
        Future.all(stageOne(stack.client, t, t.deviceA(), "late.txt", "never fetched"), stageOne(stack.client, t, t.deviceA(), "done.txt", "acked"),
                stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries").bearerTokenAuthentication(t.senderToken())
                    .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(fileId)))
                    .map(r -> r.bodyAsJsonObject().getJsonArray("items").getJsonObject(0).getString("id")))
            .compose(ids -> {
              String late = ids.resultAt(0);
              String done = ids.resultAt(1);
              String fromFile = ids.resultAt(2);
              return stack.client.post("/v1/inbox/" + done + "/ack").bearerTokenAuthentication(t.tokenA()).send()
                  .compose(v -> sql(stack, "UPDATE deliveries SET expires_at = now() - interval '1 second' WHERE id IN ($1::uuid, $2::uuid)",
                      late, fromFile))
                  .compose(v -> sweep())
                  .compose(first -> Future.all(senderView(stack.client, t, late), senderView(stack.client, t, fromFile),
                      stack.client.get("/v1/deliveries/" + done).bearerTokenAuthentication(t.senderToken()).send()))
                  .compose(views -> {
                    ctx.verify(() -> {
                      assertThat(((JsonObject) views.resultAt(0)).getString("state")).as("marked, still visible to the sender").isEqualTo("expired");
                      assertThat(((JsonObject) views.resultAt(1)).getString("state")).isEqualTo("expired");
                      assertThat(((io.vertx.ext.web.client.HttpResponse<?>) views.resultAt(2)).statusCode()).as("acked past retention").isEqualTo(404);
                    });
                    return sweep();
                  })
                  .compose(second -> stack.eventually(Duration.ofSeconds(20), () -> sweep().compose(s -> objects(t))
                      .map(keys -> keys.equals(List.of("t/" + t.id() + "/files/" + fileId)))))
                  .compose(v -> stack.client.get("/v1/deliveries?device=" + t.deviceA()).bearerTokenAuthentication(t.senderToken()).send())
                  .compose(list -> {
                    ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).as("every delivery swept").isEmpty());
                    return stack.client.get("/v1/files/" + fileId + "/content").bearerTokenAuthentication(t.tokenA()).send();
                  })
                  .map(content -> {
                    ctx.verify(() -> assertThat(content.bodyAsString()).as("the file's object outlives its delivery").isEqualTo("kept by the file"));
                    return null;
                  });
            })))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void anObjectWhoseRowIsDeletedByAnyPathIsReclaimed(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stageOne(stack.client, t, t.deviceB(), "orphan.txt", "row deleted by hand")
        .compose(id -> sql(stack, "DELETE FROM deliveries WHERE id = $1::uuid", id))
        .compose(v -> objects(t))
        .compose(before -> {
          ctx.verify(() -> assertThat(before).as("the object waits in the outbox").hasSize(1));
          return stack.eventually(Duration.ofSeconds(20), () -> sweep().compose(s -> objects(t)).map(List::isEmpty));
        }))
        .onComplete(ctx.succeedingThenComplete());
  }
}
