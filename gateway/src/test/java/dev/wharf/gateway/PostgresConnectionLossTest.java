package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * PostgreSQL drops the gateway's connections while requests are in the middle of a query (an
 * administrator's {@code pg_terminate_backend}, SQLSTATE 57P01, as in a restart or failover): the requests
 * answer 503 {@code postgres_unavailable} with {@code Retry-After}, never 500, and the next ones work.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
class PostgresConnectionLossTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  @Test
  void connectionsTerminatedMidQueryAnswer503NotInternalError(VertxTestContext ctx) {
    stack.newTenant().compose(t -> adminConnection().compose(admin -> admin.query("BEGIN").execute()
            // Hold every query on the files table, so the gateway's queries are surely mid-flight when cut.
            .compose(v -> admin.query("LOCK TABLE files IN ACCESS EXCLUSIVE MODE").execute())
            .compose(v -> {
              Future<HttpResponse<Buffer>> upload = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
                  .putHeader("X-Wharf-Filename", "cut.txt").sendBuffer(Buffer.buffer("cut off mid-query"));
              Future<HttpResponse<Buffer>> list = stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send();
              return terminateWaitingBackends(admin, 2)
                  .compose(killed -> Future.all(upload, list))
                  .map(all -> List.<HttpResponse<Buffer>>of(all.resultAt(0), all.resultAt(1)));
            })
            .eventually(() -> admin.query("ROLLBACK").execute().eventually(admin::close))
            .compose(answers -> {
              ctx.verify(() -> {
                answers.forEach(resp -> {
                  assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(503);
                  assertThat(resp.getHeader("Retry-After")).isNotNull();
                  // The connection may end as ClosedConnectionException (names PostgreSQL) or as a bare
                  // "Connection reset", which names no dependency on a path that does not say whose call it was.
                  assertThat(resp.bodyAsJsonObject().getString("code")).isIn("postgres_unavailable", "dependency_unavailable");
                });
                assertThat(answers.get(0).bodyAsJsonObject().getString("code")).as("the upload path names its dependency")
                    .isEqualTo("postgres_unavailable");
              });
              return stack.objectKeys(t.id());
            })
            .compose(keys -> {
              ctx.verify(() -> assertThat(keys).as("nothing stored for the cut upload").isEmpty());
              return stack.eventually(Duration.ofSeconds(30), () -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
                  .putHeader("X-Wharf-Filename", "after.txt").sendBuffer(Buffer.buffer("after")).map(r -> r.statusCode() == 201));
            })
            .compose(v -> stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send())
            .map(list -> {
              ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).hasSize(1));
              return null;
            })))
        .onComplete(ctx.succeedingThenComplete());
  }

  private static Future<PgConnection> adminConnection() {
    return PgConnection.connect(stack.vertx, new PgConnectOptions()
        .setHost(stack.servers.postgresHost())
        .setPort(stack.servers.postgresPort())
        .setDatabase(stack.servers.postgresDatabase())
        .setUser(stack.servers.postgresUser()));
  }

  /** Waits until {@code count} backends wait on a lock, then terminates them; answers how many it did. */
  private static Future<Integer> terminateWaitingBackends(PgConnection admin, int count) {
    String waiting = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()";
    return stack.eventually(Duration.ofSeconds(20), () -> admin.query("SELECT count(*) AS n " + waiting).execute()
            .map(rows -> rows.iterator().next().getInteger("n") >= count))
        .compose(v -> admin.query("SELECT pg_terminate_backend(pid) AS done " + waiting).execute())
        .map(rows -> rows.rowCount());
  }
}
