package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.processedFile;
import static dev.wharf.gateway.DeliveryTesting.senderView;
import static dev.wharf.gateway.DeliveryTesting.sql;
import static dev.wharf.gateway.DeliveryTesting.stage;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.DeliveryTesting.Replica;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Staging is all or nothing: every file of a request becomes a delivery, or none does and no object stays. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class DeliveryStagingTest {

  static TestStack stack;
  static Replica smallCap;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    smallCap = Replica.start(stack, Map.of("WHARF_DELIVERIES_MAX_FILE_BYTES", "1MiB", "WHARF_DELIVERIES_MAX_FILES", "3"))
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    smallCap.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void everyFileOfAMultipartRequestIsStagedInOrder(VertxTestContext ctx) {
    Map<String, Buffer> files = new LinkedHashMap<>();
    files.put("one.txt", Buffer.buffer("first"));
    files.put("two.txt", Buffer.buffer("second"));
    files.put("three.txt", Buffer.buffer("third"));
    stack.newTenant().compose(t -> stage(stack.client, t, t.deviceA(), files, null).compose(resp -> {
      ctx.verify(() -> {
        assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(201);
        JsonArray items = resp.bodyAsJsonObject().getJsonArray("items");
        assertThat(items).hasSize(3);
        assertThat(items.getJsonObject(0).getString("state")).isEqualTo("staged");
        assertThat(items.getJsonObject(0).getString("device")).isEqualTo(t.deviceA());
        assertThat(items.getJsonObject(0).getLong("size")).isEqualTo(5);
      });
      return DeliveryTesting.poll(stack.client, t.tokenA(), 0);
    }).compose(inbox -> {
      ctx.verify(() -> assertThat(inbox.stream().map(o -> ((JsonObject) o).getString("filename")).toList())
          .containsExactly("one.txt", "two.txt", "three.txt"));
      String id = inbox.getJsonObject(1).getString("id");
      return stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenA()).send()
          .compose(whole -> {
            ctx.verify(() -> {
              assertThat(whole.statusCode()).isEqualTo(200);
              assertThat(whole.bodyAsString()).isEqualTo("second");
            });
            return stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenA()).putHeader("Range", "bytes=1-3").send();
          })
          .compose(part -> {
            ctx.verify(() -> {
              assertThat(part.statusCode()).isEqualTo(206);
              assertThat(part.bodyAsString()).isEqualTo("eco");
            });
            return senderView(stack.client, t, id);
          })
          .compose(view -> {
            ctx.verify(() -> {
              assertThat(view.getString("state")).isEqualTo("fetched");
              assertThat(view.getString("fetched_at")).isNotNull();
            });
            return stack.client.get("/v1/inbox?limit=2").bearerTokenAuthentication(t.tokenA()).send();
          })
          .compose(page -> {
            String cursor = page.bodyAsJsonObject().getString("next_cursor");
            ctx.verify(() -> {
              assertThat(page.bodyAsJsonObject().getJsonArray("items")).hasSize(2);
              assertThat(cursor).as("the replay cap leaves the rest to a cursor").isNotNull();
            });
            return stack.client.get("/v1/inbox?limit=2&cursor=" + cursor).bearerTokenAuthentication(t.tokenA()).send();
          })
          .map(rest -> {
            ctx.verify(() -> {
              assertThat(rest.bodyAsJsonObject().getJsonArray("items").getJsonObject(0).getString("filename")).isEqualTo("three.txt");
              assertThat(rest.bodyAsJsonObject().getString("next_cursor")).isNull();
            });
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aFailureOnTheThirdFileLeavesNothingOfTheFirstTwo(VertxTestContext ctx) {
    Map<String, Buffer> files = new LinkedHashMap<>();
    files.put("a.bin", Buffer.buffer(new byte[10_000]));
    files.put("b.bin", Buffer.buffer(new byte[20_000]));
    files.put("c.bin", Buffer.buffer(new byte[(1 << 20) + 1]));
    stack.newTenant().compose(t -> stage(smallCap.client, t, t.deviceA(), files, null)
        .map(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(413);
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("payload_too_large");
          });
          return null;
        })
        // The gateway may cut the connection while the client still sends the third file.
        .recover(err -> Future.succeededFuture())
        .compose(v -> stack.eventually(Duration.ofSeconds(20), () -> stack.objectKeys(t.id()).map(List::isEmpty)))
        .compose(v -> stack.client.get("/v1/deliveries").bearerTokenAuthentication(t.senderToken()).send())
        .compose(list -> {
          ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).isEmpty());
          return DeliveryTesting.poll(stack.client, t.tokenA(), 0);
        })
        .compose(inbox -> {
          ctx.verify(() -> assertThat(inbox).isEmpty());
          return stack.eventually(Duration.ofSeconds(10), () -> outboxRows(t).map(n -> n == 0));
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void moreFilesThanTheCapAreRefusedAndLeaveNothing(VertxTestContext ctx) {
    Map<String, Buffer> files = new LinkedHashMap<>();
    for (int i = 0; i < 4; i++) {
      files.put("f" + i + ".txt", Buffer.buffer("file " + i));
    }
    stack.newTenant().compose(t -> stage(smallCap.client, t, t.deviceA(), files, null)
        .compose(resp -> {
          ctx.verify(() -> assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("too_many_files"));
          return stack.eventually(Duration.ofSeconds(20), () -> stack.objectKeys(t.id()).map(List::isEmpty));
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void fileIdsStageProcessedFilesWithoutCopyingTheirBytes(VertxTestContext ctx) {
    stack.newTenant().compose(t -> processedFile(stack, t, "map.txt", "the map", "processed").compose(fileId ->
        stack.client.post("/v1/devices/" + t.deviceB() + "/deliveries").bearerTokenAuthentication(t.senderToken())
            .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(fileId)).put("ttl_seconds", 3600))
            .compose(resp -> {
              ctx.verify(() -> {
                assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(201);
                JsonObject d = resp.bodyAsJsonObject().getJsonArray("items").getJsonObject(0);
                assertThat(d.getString("source")).isEqualTo("file");
                assertThat(d.getString("file_id")).isEqualTo(fileId);
                assertThat(d.getString("filename")).isEqualTo("map.txt");
              });
              String id = resp.bodyAsJsonObject().getJsonArray("items").getJsonObject(0).getString("id");
              return stack.client.get("/v1/inbox/" + id + "/content").bearerTokenAuthentication(t.tokenB()).send();
            })
            .compose(content -> {
              ctx.verify(() -> assertThat(content.bodyAsString()).isEqualTo("the map"));
              return stack.objectKeys(t.id());
            })
            .map(keys -> {
              // The filesystem-backed S3 server lists folders as keys ending in '/'; they are not objects.
              ctx.verify(() -> assertThat(keys.stream().filter(k -> !k.endsWith("/"))).containsExactly("t/" + t.id() + "/files/" + fileId));
              return null;
            })))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void fileIdsThatCannotBeDeliveredAreRefusedAndStageNothing(VertxTestContext ctx) {
    Future.all(stack.newTenant(), stack.newTenant()).compose(both -> {
      Tenant t = both.resultAt(0);
      Tenant other = both.resultAt(1);
      return Future.all(processedFile(stack, t, "ok.txt", "fine", "processed"), processedFile(stack, t, "raw.txt", "not yet", null),
              processedFile(stack, t, "bad.txt", "broken", "failed"), processedFile(stack, other, "theirs.txt", "private", "processed"))
          .compose(ids -> {
            String ok = ids.resultAt(0);
            String raw = ids.resultAt(1);
            String bad = ids.resultAt(2);
            String theirs = ids.resultAt(3);
            return Future.all(List.of(
                    stageIds(t, t.deviceA(), ok, raw), stageIds(t, t.deviceA(), ok, bad), stageIds(t, t.deviceA(), ok, theirs),
                    stageIds(t, "no-such-device", ok), stageIds(t, t.deviceA(), ok, ok)))
                .compose(answers -> {
                  ctx.verify(() -> {
                    assertThat(answers.<JsonObject>list().stream().map(a -> a.getInteger("status") + " " + a.getString("code")).toList())
                        .containsExactly("409 file_not_ready", "422 file_failed", "404 not_found", "404 not_found", "400 duplicate_file_id");
                  });
                  return stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries").bearerTokenAuthentication(t.tokenA())
                      .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(ok)));
                })
                .compose(byDevice -> {
                  ctx.verify(() -> assertThat(byDevice.statusCode()).as("a device token cannot stage").isEqualTo(403));
                  return stack.client.get("/v1/deliveries").bearerTokenAuthentication(t.senderToken()).send();
                })
                .map(list -> {
                  ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).isEmpty());
                  return null;
                });
          });
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aRetryWithTheSameIdempotencyKeyGetsTheFirstAnswer(VertxTestContext ctx) {
    stack.newTenant().compose(t -> processedFile(stack, t, "once.txt", "once", "processed").compose(fileId -> {
      JsonObject body = new JsonObject().put("file_ids", new JsonArray().add(fileId));
      var send = (java.util.function.Supplier<Future<io.vertx.ext.web.client.HttpResponse<Buffer>>>) () -> stack.client
          .post("/v1/devices/" + t.deviceA() + "/deliveries").bearerTokenAuthentication(t.senderToken())
          .putHeader("Idempotency-Key", "stage-1").sendJsonObject(body);
      return send.get().compose(first -> send.get().map(second -> {
        ctx.verify(() -> {
          assertThat(second.statusCode()).isEqualTo(201);
          assertThat(second.getHeader("Idempotent-Replayed")).isEqualTo("true");
          assertThat(second.bodyAsJsonObject()).isEqualTo(first.bodyAsJsonObject());
        });
        return null;
      })).compose(v -> DeliveryTesting.poll(stack.client, t.tokenA(), 0)).map(inbox -> {
        ctx.verify(() -> assertThat(inbox).hasSize(1));
        return null;
      });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aTtlOutsideItsBoundsIsRefused(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stage(stack.client, t, t.deviceA(), Map.of("x.txt", Buffer.buffer("x")), 5L)
        .compose(resp -> {
          ctx.verify(() -> assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("invalid_ttl"));
          return stack.eventually(Duration.ofSeconds(20), () -> stack.objectKeys(t.id()).map(List::isEmpty));
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  private static Future<JsonObject> stageIds(Tenant t, String device, String... fileIds) {
    return stack.client.post("/v1/devices/" + device + "/deliveries").bearerTokenAuthentication(t.senderToken())
        .sendJsonObject(new JsonObject().put("file_ids", new JsonArray(List.of((Object[]) fileIds))))
        .map(resp -> resp.bodyAsJsonObject().put("status", resp.statusCode()));
  }

  private static Future<Integer> outboxRows(Tenant t) {
    return stack.app.services().pool().preparedQuery("SELECT count(*) AS n FROM pending_object_deletes WHERE object_key LIKE $1")
        .execute(io.vertx.sqlclient.Tuple.of("t/" + t.id() + "/%"))
        .map(rows -> rows.iterator().next().getInteger("n"));
  }
}
