package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.multipart.MultipartForm;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The spine end to end over HTTP: upload, ingest by a real worker, status, gated download. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 90, timeUnit = TimeUnit.SECONDS)
class UploadAndIngestTest {

  static TestStack stack;
  static String workers;

  @BeforeAll
  static void start() throws Exception {
    stack = TestStack.get();
    workers = stack.startWorkers(2).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stopWorkers() throws Exception {
    stack.vertx.undeploy(workers).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  static Future<HttpResponse<Buffer>> upload(Tenant t, String token, String filename, Buffer body, String contentType) {
    var req = stack.client.post("/v1/files").bearerTokenAuthentication(token).putHeader("X-Wharf-Filename", filename);
    if (contentType != null) {
      req.putHeader("Content-Type", contentType);
    }
    return req.sendBuffer(body);
  }

  static Future<JsonObject> awaitTerminal(String token, String fileId) {
    JsonObject[] last = new JsonObject[1];
    return stack.eventually(Duration.ofSeconds(30), () -> stack.client.get("/v1/files/" + fileId).bearerTokenAuthentication(token).send()
            .map(resp -> {
              last[0] = resp.bodyAsJsonObject();
              String status = last[0].getString("status");
              return "processed".equals(status) || "failed".equals(status);
            }))
        .map(v -> last[0]);
  }

  static String sha256(Buffer b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.getBytes()));
  }

  @Test
  void uploadedJsonIsProcessedAndDownloadable(VertxTestContext ctx) throws Exception {
    Buffer body = Buffer.buffer("{\"robot\":\"r2\",\"readings\":[1,2,3]}");
    String expectedSha = sha256(body);
    stack.newTenant().compose(t -> upload(t, t.tokenA(), "reading.json", body, "application/json").compose(resp -> {
      ctx.verify(() -> {
        assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(201);
        JsonObject file = resp.bodyAsJsonObject();
        assertThat(file.getString("sha256")).isEqualTo(expectedSha);
        assertThat(file.getLong("size")).isEqualTo(body.length());
        assertThat(file.getString("status")).isEqualTo("uploaded");
        assertThat(file.getString("job_id")).isNotNull();
      });
      String id = resp.bodyAsJsonObject().getString("id");
      return awaitTerminal(t.tokenA(), id).compose(file -> {
        ctx.verify(() -> {
          assertThat(file.getString("status")).isEqualTo("processed");
          assertThat(file.getJsonObject("metadata").getString("sniffed_type")).isEqualTo("application/json");
        });
        return stack.client.get("/v1/files/" + id + "/content").bearerTokenAuthentication(t.tokenA()).send();
      }).compose(download -> {
        ctx.verify(() -> {
          assertThat(download.statusCode()).isEqualTo(200);
          assertThat(download.body()).isEqualTo(body);
          assertThat(download.getHeader("ETag")).isEqualTo("\"" + expectedSha + "\"");
        });
        return stack.client.get("/v1/files/" + id + "/content").bearerTokenAuthentication(t.tokenA())
            .putHeader("Range", "bytes=2-8").send();
      }).compose(partial -> {
        ctx.verify(() -> {
          assertThat(partial.statusCode()).isEqualTo(206);
          assertThat(partial.bodyAsString()).isEqualTo(body.getString(2, 9));
          assertThat(partial.getHeader("Content-Range")).isEqualTo("bytes 2-8/" + body.length());
        });
        return stack.client.get("/v1/jobs/" + resp.bodyAsJsonObject().getString("job_id")).bearerTokenAuthentication(t.tokenA()).send();
      }).map(job -> {
        ctx.verify(() -> {
          assertThat(job.bodyAsJsonObject().getString("status")).isEqualTo("succeeded");
          assertThat(job.bodyAsJsonObject().getInteger("attempts")).isEqualTo(1);
        });
        return null;
      });
    })).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void multipartUploadIsAccepted(VertxTestContext ctx) {
    Buffer body = Buffer.buffer("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    stack.newTenant().compose(t -> stack.client.post("/v1/files").bearerTokenAuthentication(t.tokenA())
        .sendMultipartForm(MultipartForm.create().binaryFileUpload("file", "log.jsonl", body, "application/x-ndjson"))
        .compose(resp -> {
          ctx.verify(() -> assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(201));
          return awaitTerminal(t.tokenA(), resp.bodyAsJsonObject().getString("id"));
        })
        .map(file -> {
          ctx.verify(() -> {
            assertThat(file.getString("filename")).isEqualTo("log.jsonl");
            assertThat(file.getString("status")).isEqualTo("processed");
            assertThat(file.getJsonObject("metadata").getInteger("lines")).isEqualTo(3);
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void badJsonLinesFailsWithTheLineNumberAndCannotBeDownloaded(VertxTestContext ctx) {
    Buffer body = Buffer.buffer("{\"ok\":1}\n{\"ok\":2}\nnot json at all\n{\"ok\":4}\n");
    stack.newTenant().compose(t -> upload(t, t.tokenA(), "bad.jsonl", body, null)
        .compose(resp -> awaitTerminal(t.tokenA(), resp.bodyAsJsonObject().getString("id")))
        .compose(file -> {
          ctx.verify(() -> {
            assertThat(file.getString("status")).isEqualTo("failed");
            assertThat(file.getString("status_detail")).contains("line 3");
          });
          return stack.client.get("/v1/files/" + file.getString("id") + "/content").bearerTokenAuthentication(t.tokenA()).send();
        })
        .map(download -> {
          ctx.verify(() -> {
            assertThat(download.statusCode()).isEqualTo(422);
            assertThat(download.getHeader("Content-Type")).isEqualTo("application/problem+json");
            assertThat(download.bodyAsJsonObject().getString("code")).isEqualTo("file_failed");
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void declaredZipThatIsNotAZipFails(VertxTestContext ctx) {
    stack.newTenant().compose(t -> upload(t, t.tokenA(), "data.zip", Buffer.buffer("{\"not\":\"a zip\"}"), "application/zip")
        .compose(resp -> awaitTerminal(t.tokenA(), resp.bodyAsJsonObject().getString("id")))
        .map(file -> {
          ctx.verify(() -> {
            assertThat(file.getString("status")).isEqualTo("failed");
            assertThat(file.getString("status_detail")).containsIgnoringCase("zip");
          });
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void deleteRemovesRowAndObject(VertxTestContext ctx) {
    stack.newTenant().compose(t -> upload(t, t.tokenA(), "gone.txt", Buffer.buffer("bye"), "text/plain")
        .compose(resp -> stack.client.delete("/v1/files/" + resp.bodyAsJsonObject().getString("id")).bearerTokenAuthentication(t.tokenA()).send()
            .compose(del -> {
              ctx.verify(() -> assertThat(del.statusCode()).isEqualTo(204));
              return stack.client.get("/v1/files/" + resp.bodyAsJsonObject().getString("id")).bearerTokenAuthentication(t.tokenA()).send();
            }))
        .compose(get -> {
          ctx.verify(() -> assertThat(get.statusCode()).isEqualTo(404));
          return stack.objectKeys(t.id());
        })
        .map(keys -> {
          ctx.verify(() -> assertThat(keys).isEmpty());
          return null;
        }))
        .onComplete(ctx.succeedingThenComplete());
  }
}
