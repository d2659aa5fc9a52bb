package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** One tenant never learns whether another's file exists; one device never reads another's. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class IsolationTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void otherTenantsAndOtherDevicesGetTheSame404AsAnAbsentFile(VertxTestContext ctx) {
    Future.all(stack.newTenant(), stack.newTenant()).compose(both -> {
      TestStack.Tenant a = both.resultAt(0);
      TestStack.Tenant b = both.resultAt(1);
      return stack.client.post("/v1/files").bearerTokenAuthentication(a.tokenA()).putHeader("X-Wharf-Filename", "secret.txt")
          .sendBuffer(Buffer.buffer("tenant a only")).compose(created -> {
            String id = created.bodyAsJsonObject().getString("id");
            String job = created.bodyAsJsonObject().getString("job_id");
            String absent = java.util.UUID.randomUUID().toString();
            List<String> strangers = List.of(b.tokenA(), b.senderToken(), a.tokenB());
            List<Future<Integer>> probes = new java.util.ArrayList<>();
            for (String token : strangers) {
              probes.add(stack.client.get("/v1/files/" + id).bearerTokenAuthentication(token).send().map(r -> r.statusCode()));
              probes.add(stack.client.get("/v1/files/" + id + "/content").bearerTokenAuthentication(token).send().map(r -> r.statusCode()));
              probes.add(stack.client.get("/v1/jobs/" + job).bearerTokenAuthentication(token).send().map(r -> r.statusCode()));
              probes.add(stack.client.post("/v1/jobs/" + job + "/cancel").bearerTokenAuthentication(token).send().map(r -> r.statusCode()));
            }
            probes.add(stack.client.delete("/v1/files/" + id).bearerTokenAuthentication(b.tokenA()).send().map(r -> r.statusCode()));
            probes.add(stack.client.delete("/v1/files/" + id).bearerTokenAuthentication(a.tokenB()).send().map(r -> r.statusCode()));
            probes.add(stack.client.get("/v1/files/" + absent).bearerTokenAuthentication(a.tokenA()).send().map(r -> r.statusCode()));
            probes.add(stack.client.get("/v1/files/not-a-uuid").bearerTokenAuthentication(a.tokenA()).send().map(r -> r.statusCode()));
            return Future.all(probes).compose(all -> {
              ctx.verify(() -> assertThat(all.<Integer>list()).allMatch(code -> code == 404));
              return Future.all(
                  stack.client.get("/v1/files").bearerTokenAuthentication(b.senderToken()).send(),
                  stack.client.get("/v1/files").bearerTokenAuthentication(a.tokenB()).send(),
                  stack.client.get("/v1/files/" + id).bearerTokenAuthentication(a.tokenA()).send(),
                  stack.client.get("/v1/files/" + id).bearerTokenAuthentication(a.senderToken()).send());
            });
          });
    }).map(lists -> {
      ctx.verify(() -> {
        assertThat(((io.vertx.ext.web.client.HttpResponse<Buffer>) lists.resultAt(0)).bodyAsJsonObject().getJsonArray("items")).isEmpty();
        assertThat(((io.vertx.ext.web.client.HttpResponse<Buffer>) lists.resultAt(1)).bodyAsJsonObject().getJsonArray("items")).isEmpty();
        assertThat(((io.vertx.ext.web.client.HttpResponse<Buffer>) lists.resultAt(2)).statusCode()).as("owner still reads it").isEqualTo(200);
        assertThat(((io.vertx.ext.web.client.HttpResponse<Buffer>) lists.resultAt(3)).statusCode()).as("own tenant's reader").isEqualTo(200);
      });
      return null;
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void adminCallsNeedTheAdminToken(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/admin/tenants").bearerTokenAuthentication(t.senderToken())
        .sendJsonObject(new io.vertx.core.json.JsonObject().put("id", "sneaky"))
        .compose(resp -> {
          ctx.verify(() -> assertThat(resp.statusCode()).isEqualTo(403));
          return stack.client.get("/v1/admin/queues").bearerTokenAuthentication(t.tokenA()).send();
        })
        .map(resp -> {
          ctx.verify(() -> assertThat(resp.statusCode()).isEqualTo(403));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void revokedTokenIsRefused(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/admin/tenants/" + t.id() + "/tokens").bearerTokenAuthentication(TestStack.ADMIN_TOKEN)
        .sendJsonObject(new io.vertx.core.json.JsonObject().put("device", t.deviceA()))
        .compose(issued -> {
          String token = issued.bodyAsJsonObject().getString("token");
          String id = issued.bodyAsJsonObject().getString("id");
          return stack.client.get("/v1/files").bearerTokenAuthentication(token).send()
              .compose(ok -> {
                ctx.verify(() -> assertThat(ok.statusCode()).isEqualTo(200));
                return stack.client.delete("/v1/admin/tenants/" + t.id() + "/tokens/" + id).bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send();
              })
              .compose(revoked -> {
                ctx.verify(() -> assertThat(revoked.statusCode()).isEqualTo(204));
                return stack.client.get("/v1/files").bearerTokenAuthentication(token).send();
              });
        })
        .map(resp -> {
          ctx.verify(() -> assertThat(resp.statusCode()).isEqualTo(401));
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }
}
