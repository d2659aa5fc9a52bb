package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.uploads.ChildGateway;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
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

/**
 * Two replicas on the same PostgreSQL and Redis: the test stack's gateway and a child JVM, both caching tokens for
 * ten minutes ({@code auth.cache-ttl}). A token that both have cached, revoked through one, is refused by the other
 * long before its cache entry would expire: only the revocation notice, relayed over Redis, can do that.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class TokenRevocationAcrossReplicasTest {

  private static final Duration NOTICE_DEADLINE = Duration.ofSeconds(30);

  static TestStack stack;
  static ChildGateway child;
  static WebClient toChild;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    child = ChildGateway.start(stack, Map.of("WHARF_AUTH_CACHE_TTL", "10m"));
    toChild = WebClient.create(stack.vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(child.port));
  }

  @AfterAll
  static void stop() throws Exception {
    if (toChild != null) {
      toChild.close();
    }
    if (child != null) {
      child.close();
    }
  }

  @Test
  void tokenRevokedOnOneReplicaIsRefusedByAnotherThatHadItCached(VertxTestContext ctx) {
    stack.newTenant().compose(t -> issueDeviceToken(t).compose(issued -> {
      String token = issued.getString("token");
      return cachedOnBoth(ctx, token)
          .compose(v -> stack.client.delete("/v1/admin/tenants/" + t.id() + "/tokens/" + issued.getString("id"))
              .bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send())
          .compose(revoked -> {
            ctx.verify(() -> assertThat(revoked.statusCode()).isEqualTo(204));
            return Future.all(
                stack.client.get("/v1/files").bearerTokenAuthentication(token).send().map(r -> r.statusCode()),
                stack.eventually(NOTICE_DEADLINE, () -> statusOnChild(token).map(code -> code == 401)));
          })
          .map(all -> {
            ctx.verify(() -> assertThat(all.<Integer>resultAt(0)).as("the revoking replica, at once").isEqualTo(401));
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void tokenRevokedThroughTheOtherReplicaIsRefusedHere(VertxTestContext ctx) {
    stack.newTenant().compose(t -> issueDeviceToken(t).compose(issued -> {
      String token = issued.getString("token");
      return cachedOnBoth(ctx, token)
          .compose(v -> toChild.delete("/v1/admin/tenants/" + t.id() + "/tokens/" + issued.getString("id"))
              .bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send())
          .compose(revoked -> {
            ctx.verify(() -> assertThat(revoked.statusCode()).isEqualTo(204));
            return stack.eventually(NOTICE_DEADLINE, () -> stack.client.get("/v1/files").bearerTokenAuthentication(token).send()
                .map(r -> r.statusCode() == 401));
          })
          // The tenant's other tokens are not touched by the revocation.
          .compose(v -> Future.all(statusOnChild(t.tokenB()), stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenB()).send()
              .map(r -> r.statusCode())))
          .map(others -> {
            ctx.verify(() -> assertThat(others.<Integer>list()).containsExactly(200, 200));
            return null;
          });
    })).onComplete(ctx.succeedingThenComplete());
  }

  /**
   * Uses the token twice on each replica and checks that each answered the second use from its cache (its
   * {@code wharf_auth_token_lookups_total{source="cache"}} grew), so the refusal afterwards is not a cache miss.
   */
  private Future<Void> cachedOnBoth(VertxTestContext ctx, String token) {
    return Future.all(cacheHits(stack.client), cacheHits(toChild)).compose(before -> statusOnChild(token)
        .compose(a -> statusOnChild(token))
        .compose(b -> stack.client.get("/v1/files").bearerTokenAuthentication(token).send())
        .compose(c -> stack.client.get("/v1/files").bearerTokenAuthentication(token).send())
        .compose(d -> {
          ctx.verify(() -> assertThat(d.statusCode()).isEqualTo(200));
          return Future.all(cacheHits(stack.client), cacheHits(toChild));
        })
        .map(after -> {
          ctx.verify(() -> {
            assertThat(after.<Double>resultAt(0)).as("stack cache hits").isGreaterThan(before.<Double>resultAt(0));
            assertThat(after.<Double>resultAt(1)).as("child cache hits").isGreaterThan(before.<Double>resultAt(1));
          });
          return null;
        }));
  }

  private static Future<Integer> statusOnChild(String token) {
    return toChild.get("/v1/files").bearerTokenAuthentication(token).send().map(r -> r.statusCode());
  }

  private static Future<Double> cacheHits(WebClient client) {
    return client.get("/metrics").send().map(r -> {
      for (String line : r.bodyAsString().split("\n")) {
        if (line.startsWith("wharf_auth_token_lookups_total{") && line.contains("source=\"cache\"")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      throw new AssertionError("no wharf_auth_token_lookups_total{source=\"cache\"} on /metrics");
    });
  }

  private static Future<JsonObject> issueDeviceToken(TestStack.Tenant t) {
    return stack.client.post("/v1/admin/tenants/" + t.id() + "/tokens").bearerTokenAuthentication(TestStack.ADMIN_TOKEN)
        .sendJsonObject(new JsonObject().put("device", t.deviceA()))
        .map(r -> {
          if (r.statusCode() != 201) {
            throw new AssertionError("token issue answered " + r.statusCode() + ": " + r.bodyAsString());
          }
          return r.bodyAsJsonObject();
        });
  }
}
