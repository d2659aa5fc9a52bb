package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** With S3 down an upload answers 503 with Retry-After, and no half-made file stays; readiness says why. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class StorageOutageTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void uploadDuringStorageOutageIs503AndLeavesNothing(VertxTestContext ctx) throws Exception {
    TestStack.Tenant t = stack.newTenant().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    stack.servers.stopS3();
    stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA()).putHeader("X-Wharf-Filename", "during-outage.bin")
        .sendBuffer(Buffer.buffer(new byte[6 * 1024 * 1024]))
        .compose(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(503);
            assertThat(resp.getHeader("Retry-After")).isNotNull();
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("storage_unavailable");
          });
          return stack.client.get("/readyz").send();
        })
        .compose(ready -> {
          ctx.verify(() -> {
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.bodyAsJsonObject().getJsonObject("checks").getString("s3")).startsWith("down");
            assertThat(ready.bodyAsJsonObject().getJsonObject("checks").getString("postgres")).isEqualTo("ok");
          });
          return stack.vertx.executeBlocking(() -> {
            stack.servers.startS3Again();
            return null;
          });
        })
        .compose(v -> stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send())
        .compose(list -> {
          ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).isEmpty());
          return stack.objectKeys(t.id());
        })
        .compose(keys -> {
          ctx.verify(() -> assertThat(keys).isEmpty());
          return stack.client.get("/readyz").send();
        })
        .onComplete(ctx.succeeding(ready -> ctx.verify(() -> {
          assertThat(ready.statusCode()).isEqualTo(200);
          ctx.completeNow();
        })));
  }
}
