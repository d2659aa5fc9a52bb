package dev.wharf.gateway;

import static dev.wharf.gateway.DeliveryTesting.processedFile;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.multipart.MultipartForm;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A staging under an Idempotency-Key records its answer in the transaction that inserts its deliveries:
 * a retry gets the first answer and the same deliveries, and a staging whose answer cannot be recorded
 * does not commit either, so its retry stages exactly once.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class DeliveryIdempotencyTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void aRetriedMultipartStagingReplaysTheFirstAnswerAndStagesOnce(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      Supplier<Future<HttpResponse<Buffer>>> send = () -> stageMultipart(t, "multi-1");
      return send.get().compose(first -> send.get().compose(second -> {
        ctx.verify(() -> {
          assertThat(first.statusCode()).as(first.bodyAsString()).isEqualTo(201);
          assertThat(second.statusCode()).as(second.bodyAsString()).isEqualTo(201);
          assertThat(first.getHeader("Idempotent-Replayed")).isNull();
          assertThat(second.getHeader("Idempotent-Replayed")).isEqualTo("true");
          assertThat(second.bodyAsJsonObject()).isEqualTo(first.bodyAsJsonObject());
        });
        List<String> answered = ids(first.bodyAsJsonObject());
        return deliveryIds(t).compose(rows -> storedAnswerIds(t, "multi-1").compose(stored -> deliveryObjects(t).map(objects -> {
          ctx.verify(() -> {
            assertThat(answered).hasSize(2);
            assertThat(rows).containsExactlyInAnyOrderElementsOf(answered);
            assertThat(stored).containsExactlyInAnyOrderElementsOf(answered);
            assertThat(objects).hasSize(2);
          });
          return null;
        })));
      }));
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aMultipartStagingWhoseAnswerCannotBeRecordedLeavesNothingAndItsRetryStagesOnce(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      String key = "multi-fault-" + t.id();
      return failingAnswer(key, () -> stageMultipart(t, key).compose(failed -> deliveryIds(t).map(rows -> {
            ctx.verify(() -> {
              assertThat(failed.statusCode()).as(failed.bodyAsString()).isNotEqualTo(201);
              // The deliveries were inserted in the transaction whose commit the answer's fault refused.
              assertThat(rows).isEmpty();
            });
            return null;
          })))
          .compose(v -> stageMultipart(t, key))
          .compose(retry -> {
            ctx.verify(() -> assertThat(retry.statusCode()).as(retry.bodyAsString()).isEqualTo(201));
            List<String> answered = ids(retry.bodyAsJsonObject());
            return deliveryIds(t).compose(rows -> storedAnswerIds(t, key).map(stored -> {
              ctx.verify(() -> {
                assertThat(rows).hasSize(2).containsExactlyInAnyOrderElementsOf(answered);
                assertThat(stored).containsExactlyInAnyOrderElementsOf(answered);
              });
              return null;
            }));
          })
          // The refused staging's objects are removed, the retry's stay: two in all.
          .compose(v -> stack.eventually(Duration.ofSeconds(20), () -> deliveryObjects(t).map(objects -> objects.size() == 2)));
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void aFileIdStagingWhoseAnswerCannotBeRecordedLeavesNothingAndItsRetryStagesOnce(VertxTestContext ctx) {
    stack.newTenant().compose(t -> processedFile(stack, t, "src.txt", "source", "processed").compose(fileId -> {
      String key = "ids-fault-" + t.id();
      Supplier<Future<HttpResponse<Buffer>>> send = () -> stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries")
          .bearerTokenAuthentication(t.senderToken()).putHeader("Idempotency-Key", key)
          .sendJsonObject(new JsonObject().put("file_ids", new JsonArray().add(fileId)));
      return failingAnswer(key, () -> send.get().compose(failed -> deliveryIds(t).map(rows -> {
            ctx.verify(() -> {
              assertThat(failed.statusCode()).as(failed.bodyAsString()).isNotEqualTo(201);
              assertThat(rows).isEmpty();
            });
            return null;
          })))
          .compose(v -> send.get())
          .compose(retry -> send.get().map(replay -> {
            ctx.verify(() -> {
              assertThat(retry.statusCode()).as(retry.bodyAsString()).isEqualTo(201);
              assertThat(replay.getHeader("Idempotent-Replayed")).isEqualTo("true");
              assertThat(replay.bodyAsJsonObject()).isEqualTo(retry.bodyAsJsonObject());
            });
            return ids(retry.bodyAsJsonObject());
          }))
          .compose(answered -> deliveryIds(t).map(rows -> {
            ctx.verify(() -> assertThat(rows).hasSize(1).containsExactlyElementsOf(answered));
            return null;
          }));
    })).onComplete(ctx.succeedingThenComplete());
  }

  /** A multipart staging of two small files under {@code key}. */
  private static Future<HttpResponse<Buffer>> stageMultipart(Tenant t, String key) {
    MultipartForm form = MultipartForm.create()
        .binaryFileUpload("file", "a.txt", Buffer.buffer("alpha"), "text/plain")
        .binaryFileUpload("file", "b.txt", Buffer.buffer("beta"), "text/plain");
    return stack.client.post("/v1/devices/" + t.deviceA() + "/deliveries").bearerTokenAuthentication(t.senderToken())
        .putHeader("Idempotency-Key", key).sendMultipartForm(form);
  }

  /**
   * Runs {@code body} while PostgreSQL refuses, at commit, any transaction that records an answer for
   * {@code key} (a deferred constraint trigger on this test's key only), then drops the trigger.
   */
  private static Future<Void> failingAnswer(String key, Supplier<Future<Void>> body) {
    String name = "test_refuse_answer_" + UUID.randomUUID().toString().replace("-", "");
    var pool = stack.app.services().pool();
    String create = "CREATE FUNCTION " + name + "() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
        + "RAISE EXCEPTION 'test fault: the answer of this key is refused'; END $f$; "
        + "CREATE CONSTRAINT TRIGGER " + name + " AFTER UPDATE ON idempotency_keys DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        + "WHEN (NEW.key = '" + key.replace("'", "''") + "' AND NEW.status_code IS NOT NULL) EXECUTE FUNCTION " + name + "()";
    String drop = "DROP TRIGGER IF EXISTS " + name + " ON idempotency_keys; DROP FUNCTION IF EXISTS " + name + "()";
    return pool.query(create).execute()
        .compose(created -> body.get().transform(ar -> pool.query(drop).execute()
            .compose(dropped -> ar.failed() ? Future.<Void>failedFuture(ar.cause()) : Future.<Void>succeededFuture())));
  }

  private static List<String> ids(JsonObject page) {
    List<String> ids = new ArrayList<>();
    page.getJsonArray("items").forEach(item -> ids.add(((JsonObject) item).getString("id")));
    return ids;
  }

  private static Future<List<String>> deliveryIds(Tenant t) {
    return stack.app.services().pool().preparedQuery("SELECT id::text AS id FROM deliveries WHERE tenant_id = $1")
        .execute(Tuple.of(t.id()))
        .map(rows -> {
          List<String> ids = new ArrayList<>();
          rows.forEach(row -> ids.add(row.getString("id")));
          return ids;
        });
  }

  /** The delivery ids of the answer stored for {@code key}; empty when none is stored. */
  private static Future<List<String>> storedAnswerIds(Tenant t, String key) {
    return stack.app.services().pool().preparedQuery("SELECT response FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 "
            + "AND status_code = 201")
        .execute(Tuple.of(t.id(), key))
        .map(rows -> rows.rowCount() == 0 ? List.of() : ids((JsonObject) rows.iterator().next().getValue("response")));
  }

  /** The tenant's delivery objects (the filesystem store also lists the folder itself, which is no object). */
  private static Future<List<String>> deliveryObjects(Tenant t) {
    return stack.objectKeys(t.id()).map(keys -> keys.stream()
        .filter(k -> k.startsWith("t/" + t.id() + "/deliveries/") && !k.endsWith("/")).toList());
  }
}
