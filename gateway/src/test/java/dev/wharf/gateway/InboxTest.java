package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.insertWithoutNotice;
import static dev.wharf.gateway.DeliveryTesting.poll;
import static dev.wharf.gateway.DeliveryTesting.senderView;
import static dev.wharf.gateway.DeliveryTesting.sql;
import static dev.wharf.gateway.DeliveryTesting.stageOne;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The device's loop on one gateway: long-poll, fetch, ack, reject, and the one 404 for everything it may not reach. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class InboxTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void aHeldPollIsAnsweredAsSoonAsADeliveryArrives(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      Future<JsonArray> held = poll(stack.client, t.tokenA(), 60);
      // Stage once the poll is held: the process counts it.
      return stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(stack.app.services().deliveries().pollsHeld().get() > 0))
          .compose(v -> stageOne(stack.client, t, t.deviceA(), "wake.txt", "wake up"))
          .compose(id -> held.map(items -> {
            ctx.verify(() -> {
              assertThat(items).hasSize(1);
              assertThat(items.getJsonObject(0).getString("id")).isEqualTo(id);
              assertThat(items.getJsonObject(0).getString("content_url")).isEqualTo("/v1/inbox/" + id + "/content");
            });
            return null;
          }));
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aPollWithNothingToDeliverEndsEmptyAtItsDeadline(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.get("/v1/inbox?wait=1").bearerTokenAuthentication(t.tokenA()).send())
        .map(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(200);
            assertThat(resp.bodyAsJsonObject().getJsonArray("items")).isEmpty();
            assertThat(resp.bodyAsJsonObject().containsKey("next_cursor")).isTrue();
          });
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aLostWakeUpCostsLatencyNotTheDelivery(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      Future<JsonArray> held = poll(stack.client, t.tokenA(), 2);
      UUID id = UUID.randomUUID();
      // A delivery committed with no notice at all, as when a gateway dies between commit and publish.
      return stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(stack.app.services().deliveries().pollsHeld().get() > 0))
          .compose(v -> insertWithoutNotice(stack, t, t.deviceA(), id))
          .compose(v -> held)
          .compose(items -> {
            ctx.verify(() -> assertThat(items.stream().map(o -> ((JsonObject) o).getString("id")).toList())
                .as("the re-check at the deadline finds it").containsExactly(id.toString()));
            // A poll that may not wait answers with the immediate check alone: the delivery is still pending.
            return poll(stack.client, t.tokenA(), 0).map(again -> {
              ctx.verify(() -> assertThat(again.stream().map(o -> ((JsonObject) o).getString("id")).toList())
                  .as("still pending for the next poll").containsExactly(id.toString()));
              return null;
            });
          });
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aClosedClientConnectionRemovesItsWaiter(VertxTestContext ctx) {
    HttpClient http = stack.vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(stack.port));
    var held = stack.app.services().deliveries().pollsHeld();
    int before = held.get();
    stack.newTenant().compose(t -> http.request(new RequestOptions().setMethod(HttpMethod.GET).setURI("/v1/inbox?wait=60")
            .putHeader("Authorization", "Bearer " + t.tokenA()))
        .compose(req -> {
          req.send();
          return stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(held.get() > before))
              .compose(v -> req.connection().close());
        })
        .compose(v -> stack.eventually(Duration.ofSeconds(10), () -> Future.succeededFuture(held.get() == before))))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void ackIsIdempotentAndKeepsTheFirstTimestamp(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stageOne(stack.client, t, t.deviceA(), "a.txt", "payload").compose(id -> {
      String ack = "/v1/inbox/" + id + "/ack";
      return stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenA()).send()
          .compose(v -> stack.client.post(ack).bearerTokenAuthentication(t.tokenA()).send())
          .compose(first -> stack.client.post(ack).bearerTokenAuthentication(t.tokenA()).send().map(second -> List.of(first, second)))
          .compose(both -> {
            ctx.verify(() -> {
              assertThat(both.get(0).statusCode()).isEqualTo(200);
              assertThat(both.get(1).statusCode()).isEqualTo(200);
              assertThat(both.get(0).bodyAsJsonObject().getString("state")).isEqualTo("acked");
              assertThat(both.get(1).bodyAsJsonObject().getString("acked_at")).isEqualTo(both.get(0).bodyAsJsonObject().getString("acked_at"));
            });
            return senderView(stack.client, t, id).map(view -> {
              ctx.verify(() -> {
                assertThat(view.getString("state")).isEqualTo("acked");
                assertThat(view.getString("acked_at")).isEqualTo(both.get(0).bodyAsJsonObject().getString("acked_at"));
                assertThat(view.getString("fetched_at")).isNotNull();
              });
              return null;
            });
          })
          .compose(v -> stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenA()).send())
          .compose(afterAck -> {
            ctx.verify(() -> assertThat(afterAck.statusCode()).as("acked, then fetched").isEqualTo(404));
            return poll(stack.client, t.tokenA(), 0);
          })
          .map(inbox -> {
            ctx.verify(() -> assertThat(inbox).isEmpty());
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void rejectRecordsTheReasonForTheSender(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stageOne(stack.client, t, t.deviceA(), "r.txt", "unwanted").compose(id -> {
      String reject = "/v1/inbox/" + id + "/reject";
      return stack.client.post(reject).bearerTokenAuthentication(t.tokenA()).sendJsonObject(new JsonObject().put("reason", "x".repeat(1001)))
          .compose(tooLong -> {
            ctx.verify(() -> assertThat(tooLong.bodyAsJsonObject().getString("code")).isEqualTo("reason_too_long"));
            return stack.client.post(reject).bearerTokenAuthentication(t.tokenA()).sendJsonObject(new JsonObject().put("reason", "disk full"));
          })
          .compose(rejected -> {
            ctx.verify(() -> assertThat(rejected.bodyAsJsonObject().getString("state")).isEqualTo("rejected"));
            return stack.client.post("/v1/inbox/" + id + "/ack").bearerTokenAuthentication(t.tokenA()).send();
          })
          .compose(ackAfter -> {
            ctx.verify(() -> assertThat(ackAfter.bodyAsJsonObject().getString("code")).isEqualTo("delivery_rejected"));
            return stack.client.get("/v1/deliveries?device=" + t.deviceA() + "&state=rejected").bearerTokenAuthentication(t.senderToken()).send();
          })
          .map(list -> {
            ctx.verify(() -> {
              JsonObject d = list.bodyAsJsonObject().getJsonArray("items").getJsonObject(0);
              assertThat(d.getString("id")).isEqualTo(id);
              assertThat(d.getString("reject_reason")).isEqualTo("disk full");
              assertThat(d.getString("rejected_at")).isNotNull();
            });
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void absentExpiredSweptAndOtherDevicesOrTenantsDeliveriesAreTheSame404(VertxTestContext ctx) {
    Future.all(stack.newTenant(), stack.newTenant()).compose(both -> {
      Tenant t = both.resultAt(0);
      Tenant other = both.resultAt(1);
      return Future.all(stageOne(stack.client, t, t.deviceA(), "live.txt", "live"), stageOne(stack.client, t, t.deviceA(), "old.txt", "old"),
              stageOne(stack.client, t, t.deviceA(), "gone.txt", "gone"))
          .compose(ids -> {
            String live = ids.resultAt(0);
            String expired = ids.resultAt(1);
            String swept = ids.resultAt(2);
            return sql(stack, "UPDATE deliveries SET expires_at = now() - interval '1 second' WHERE id = $1::uuid", expired)
                .compose(v -> stack.client.post("/v1/inbox/" + swept + "/ack").bearerTokenAuthentication(t.tokenA()).send())
                .compose(v -> sql(stack, "DELETE FROM deliveries WHERE id = $1::uuid", swept))
                .compose(v -> {
                  List<Future<HttpResponse<Buffer>>> probes = new ArrayList<>();
                  String absent = UUID.randomUUID().toString();
                  for (String path : List.of("/content", "/ack", "/reject")) {
                    HttpMethod method = path.equals("/content") ? HttpMethod.GET : HttpMethod.POST;
                    probes.add(stack.client.request(method, "/v1/inbox/" + absent + path).bearerTokenAuthentication(t.tokenA()).send());
                    probes.add(stack.client.request(method, "/v1/inbox/" + expired + path).bearerTokenAuthentication(t.tokenA()).send());
                    probes.add(stack.client.request(method, "/v1/inbox/" + swept + path).bearerTokenAuthentication(t.tokenA()).send());
                    probes.add(stack.client.request(method, "/v1/inbox/" + live + path).bearerTokenAuthentication(t.tokenB()).send());
                    probes.add(stack.client.request(method, "/v1/inbox/" + live + path).bearerTokenAuthentication(other.tokenA()).send());
                    probes.add(stack.client.request(method, "/v1/inbox/not-a-uuid" + path).bearerTokenAuthentication(t.tokenA()).send());
                  }
                  probes.add(stack.client.get("/v1/deliveries/" + live).bearerTokenAuthentication(other.senderToken()).send());
                  return Future.all(probes);
                })
                .compose(all -> {
                  ctx.verify(() -> {
                    List<HttpResponse<Buffer>> answers = all.list();
                    assertThat(answers).allSatisfy(r -> {
                      assertThat(r.statusCode()).isEqualTo(404);
                      assertThat(r.bodyAsJsonObject().getString("code")).isEqualTo("not_found");
                      assertThat(r.bodyAsJsonObject().getString("detail")).isIn("delivery not found");
                    });
                  });
                  return stack.client.get("/v1/inbox/" + live + "/content").bearerTokenAuthentication(t.tokenA()).send();
                })
                .map(mine -> {
                  ctx.verify(() -> assertThat(mine.bodyAsString()).as("the owner still reads it").isEqualTo("live"));
                  return null;
                });
          });
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void tenantsAndDevicesNeverSeeEachOthersInboxes(VertxTestContext ctx) {
    Future.all(stack.newTenant(), stack.newTenant()).compose(both -> {
      Tenant t = both.resultAt(0);
      Tenant other = both.resultAt(1);
      return stageOne(stack.client, t, t.deviceA(), "private.txt", "for dev-a of t only")
          .compose(id -> Future.all(poll(stack.client, t.tokenB(), 0), poll(stack.client, other.tokenA(), 0),
              stack.client.get("/v1/deliveries").bearerTokenAuthentication(other.senderToken()).send(),
              stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries").bearerTokenAuthentication(other.senderToken())
                  .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(UUID.randomUUID().toString()))),
              stack.client.get("/v1/inbox").bearerTokenAuthentication(t.senderToken()).send()))
          .map(all -> {
            ctx.verify(() -> {
              assertThat((JsonArray) all.resultAt(0)).as("same tenant, other device").isEmpty();
              assertThat((JsonArray) all.resultAt(1)).as("other tenant, same device name").isEmpty();
              assertThat(((HttpResponse<Buffer>) all.resultAt(2)).bodyAsJsonObject().getJsonArray("items")).isEmpty();
              assertThat(((HttpResponse<Buffer>) all.resultAt(3)).statusCode()).as("staging to another tenant's device").isEqualTo(404);
              assertThat(((HttpResponse<Buffer>) all.resultAt(4)).statusCode()).as("a sender has no inbox").isEqualTo(403);
            });
            return null;
          });
    }).onComplete(ctx.succeedingThenComplete());
  }
}
