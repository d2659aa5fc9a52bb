package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad uploads get a clear problem+json answer and leave nothing behind: no row, no object, no multipart. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class UploadRefusalTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
  }

  /** Nothing of the tenant's is stored: no file row for either device, no object, no open multipart upload. */
  static Future<Void> assertNothingLeft(VertxTestContext ctx, Tenant t) {
    return stack.client.get("/v1/files").bearerTokenAuthentication(t.senderToken()).send()
        .compose(list -> {
          ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).isEmpty());
          return stack.objectKeys(t.id());
        })
        .compose(keys -> {
          ctx.verify(() -> assertThat(keys).isEmpty());
          return stack.openMultipartUploads(t.id());
        })
        .map(open -> {
          ctx.verify(() -> assertThat(open).isZero());
          return null;
        });
  }

  @Test
  void checksumMismatchIs422AndKeepsNothing(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "x.txt")
        .putHeader("X-Wharf-Checksum-SHA256", "0".repeat(64))
        .sendBuffer(Buffer.buffer("some bytes"))
        .compose(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(422);
            assertThat(resp.getHeader("Content-Type")).isEqualTo("application/problem+json");
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("checksum_mismatch");
          });
          return assertNothingLeft(ctx, t);
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void declaredOversizeIsRefusedBeforeTheBodyIsRead(VertxTestContext ctx) {
    HttpClient http = stack.vertx.createHttpClient(new HttpClientOptions().setDefaultPort(stack.port).setDefaultHost("127.0.0.1"));
    stack.newTenant().compose(t -> http.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/files")
            .putHeader("Authorization", "Bearer " + t.tokenA())
            .putHeader("X-Wharf-Filename", "huge.bin")
            .putHeader("Content-Length", Long.toString(10L << 30)))
        .compose(req -> {
          // Only the head goes out: the answer must come without the body.
          req.sendHead();
          return req.response();
        })
        .compose(resp -> resp.body().map(body -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(413);
            assertThat(new JsonObject(body).getString("code")).isEqualTo("payload_too_large");
          });
          return null;
        }))
        .compose(v -> assertNothingLeft(ctx, t)))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void chunkedBodyCrossingTheLimitIsCutOffAndLeavesNothing(VertxTestContext ctx) {
    HttpClient http = stack.vertx.createHttpClient(new HttpClientOptions().setDefaultPort(stack.port).setDefaultHost("127.0.0.1"));
    long limit = stack.app.services().config().uploads().maxFileBytes();
    stack.newTenant().compose(t -> http.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/files")
            .putHeader("Authorization", "Bearer " + t.tokenA())
            .putHeader("X-Wharf-Filename", "stream.bin"))
        .compose(req -> {
          req.setChunked(true);
          Promise<Integer> status = Promise.promise();
          req.response().onSuccess(resp -> status.tryComplete(resp.statusCode())).onFailure(status::tryFail);
          // Write until the server answers or the connection drops; the server must not wait for the end.
          Buffer chunk = Buffer.buffer(new byte[64 * 1024]);
          long[] written = {0};
          Runnable[] pump = new Runnable[1];
          pump[0] = () -> {
            while (!status.future().isComplete() && !req.writeQueueFull() && written[0] <= limit + (8L << 20)) {
              req.write(chunk).onFailure(err -> status.tryComplete(-1));
              written[0] += chunk.length();
            }
            if (!status.future().isComplete() && written[0] <= limit + (8L << 20)) {
              req.drainHandler(v -> pump[0].run());
            }
          };
          pump[0].run();
          return status.future();
        })
        .compose(code -> {
          ctx.verify(() -> assertThat(code).as("413, or the connection cut after the answer").isIn(413, -1));
          // The refusal happens asynchronously: give the gateway time to abort and forget.
          return stack.eventually(java.time.Duration.ofSeconds(20), () -> stack.objectKeys(t.id())
              .compose(keys -> stack.openMultipartUploads(t.id()).map(open -> keys.isEmpty() && open == 0)));
        })
        .compose(v -> assertNothingLeft(ctx, t)))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void filenameWithOnlyPathPartsIsRefused(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "../../")
        .sendBuffer(Buffer.buffer("x"))
        .compose(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(400);
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("invalid_filename");
          });
          return assertNothingLeft(ctx, t);
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void pathTraversalInFilenameIsStrippedToTheLastSegment(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "..%2F..%2Fetc%2Fpass%01wd")
        .sendBuffer(Buffer.buffer("x"))
        .map(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(201);
            assertThat(resp.bodyAsJsonObject().getString("filename")).isEqualTo("pass_wd");
            assertThat(resp.bodyAsJsonObject().getString("original_filename")).isEqualTo("../../etc/pass\u0001wd");
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void missingTokenIs401AndSenderCannotUpload(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").putHeader("X-Wharf-Filename", "a").sendBuffer(Buffer.buffer("x"))
        .compose(anon -> {
          ctx.verify(() -> {
            assertThat(anon.statusCode()).isEqualTo(401);
            assertThat(anon.bodyAsJsonObject().getString("code")).isEqualTo("unauthorized");
          });
          return stack.client.post("/v1/files").bearerTokenAuthentication(t.senderToken()).putHeader("X-Wharf-Filename", "a")
              .sendBuffer(Buffer.buffer("x"));
        })
        .compose(sender -> {
          ctx.verify(() -> assertThat(sender.statusCode()).isEqualTo(403));
          return stack.client.post("/v1/files").bearerTokenAuthentication("wh_d_forged").putHeader("X-Wharf-Filename", "a")
              .sendBuffer(Buffer.buffer("x"));
        })
        .compose(forged -> {
          ctx.verify(() -> assertThat(forged.statusCode()).isEqualTo(401));
          return assertNothingLeft(ctx, t);
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void badPriorityIs400(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "a.txt").putHeader("X-Wharf-Priority", "asap")
        .sendBuffer(Buffer.buffer("x"))
        .compose(resp -> {
          ctx.verify(() -> assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("invalid_priority"));
          return assertNothingLeft(ctx, t);
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void idempotentRetryReturnsTheFirstAnswer(VertxTestContext ctx) {
    stack.newTenant().compose(t -> {
      var first = stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
          .putHeader("X-Wharf-Filename", "once.txt").putHeader("Idempotency-Key", "k-1").sendBuffer(Buffer.buffer("one"));
      return first.compose(a -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
              .putHeader("X-Wharf-Filename", "once.txt").putHeader("Idempotency-Key", "k-1").sendBuffer(Buffer.buffer("one"))
              .map(b -> new JsonObject[] {a.bodyAsJsonObject(), b.bodyAsJsonObject(), new JsonObject().put("replayed", b.getHeader("Idempotent-Replayed")).put("status", b.statusCode())}))
          .compose(both -> {
            ctx.verify(() -> {
              assertThat(both[1].getString("id")).isEqualTo(both[0].getString("id"));
              assertThat(both[2].getInteger("status")).isEqualTo(201);
              assertThat(both[2].getString("replayed")).isEqualTo("true");
            });
            return stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send();
          })
          .map(list -> {
            ctx.verify(() -> assertThat(list.bodyAsJsonObject().getJsonArray("items")).hasSize(1));
            return null;
          });
    }).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void downloadBeforeProcessingIs409(VertxTestContext ctx) {
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .putHeader("X-Wharf-Filename", "wait.txt").sendBuffer(Buffer.buffer("not yet"))
        .compose(resp -> stack.client.get("/v1/files/" + resp.bodyAsJsonObject().getString("id") + "/content")
            .bearerTokenAuthentication(t.tokenA()).send())
        .map(resp -> {
          ctx.verify(() -> {
            assertThat(resp.statusCode()).isEqualTo(409);
            assertThat(resp.bodyAsJsonObject().getString("code")).isEqualTo("file_not_ready");
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }
}
