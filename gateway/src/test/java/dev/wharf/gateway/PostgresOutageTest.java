package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** With PostgreSQL down an upload answers 503 with Retry-After and stores nothing; it works again after. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class PostgresOutageTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void uploadDuringDatabaseOutageIs503AndLeavesNothing(VertxTestContext ctx) throws Exception {
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    stack.servers.stopPostgres();
    stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "db-down.txt")
        .sendBuffer(Buffer.buffer("while the database is down"))
        .compose(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(503);
            assertThat(resp.getHeader("Retry-After")).isNotNull();
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("postgres_unavailable");
          });
          return stack.client.get("/readyz").send();
        })
        .compose(ready -> {
          ctx.verify(() -> {
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.bodyAsJsonObject().getJsonObject("checks").getString("postgres")).startsWith("down");
          });
          return stack.vertx.executeBlocking(() -> {
            stack.servers.startPostgresAgain();
            return null;
          });
        })
        .compose(v -> stack.objectKeys(t.id()))
        .compose(keys -> {
          ctx.verify(() -> assertThat(keys).isEmpty());
          // The pool reconnects on its own once the database is back.
          return stack.eventually(Duration.ofSeconds(30), () -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
              .putHeader("X-Wharf-Filename", "db-back.txt").sendBuffer(Buffer.buffer("back")).map(r -> r.statusCode() == 201));
        })
        .compose(v -> stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send())
        .onComplete(ctx.succeeding(list -> ctx.verify(() -> {
          assertThat(list.bodyAsJsonObject().getJsonArray("items")).hasSize(1);
          assertThat(list.bodyAsJsonObject().getJsonArray("items").getJsonObject(0).getString("filename")).isEqualTo("db-back.txt");
          ctx.completeNow();
        })));
  }
}
