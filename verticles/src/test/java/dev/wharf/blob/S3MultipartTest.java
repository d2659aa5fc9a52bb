package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.PART_SIZE;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.sha256Hex;
import static dev.wharf.blob.BlobTesting.uniqueKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The multipart primitives resumable uploads are built on, against the embedded S3 server. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 2, timeUnit = TimeUnit.MINUTES)
class S3MultipartTest {

  private static EmbeddedServers servers;

  private S3BlobStore store;
  private Context context;

  @BeforeAll
  static void startServers() {
    servers = EmbeddedServers.shared();
  }

  @BeforeEach
  void createStore(Vertx vertx) {
    store = S3BlobStore.create(vertx, BlobTesting.config(servers));
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void closeStore(VertxTestContext testContext) {
    store.close().onComplete(testContext.succeedingThenComplete());
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void partsUploadedOneByOneCompleteIntoTheObject(VertxTestContext testContext) {
    String key = uniqueKey("parts");
    byte[] first = random(PART_SIZE, 1);
    byte[] last = random(1234, 2);
    byte[] whole = new byte[first.length + last.length];
    System.arraycopy(first, 0, whole, 0, first.length);
    System.arraycopy(last, 0, whole, first.length, last.length);
    on(context, () -> store.createMultipart(key, "application/octet-stream")
        .compose(id -> store.openMultiparts("t/test/parts/", 1000)
            .compose(open -> {
              testContext.verify(() -> assertThat(open).extracting(OpenMultipart::uploadId).contains(id));
              return store.uploadPart(key, id, 2, last, last.length);
            })
            .compose(etag2 -> store.uploadPart(key, id, 1, first, first.length)
                .compose(etag1 -> store.listParts(key, id).compose(parts -> {
                  testContext.verify(() -> {
                    assertThat(parts).extracting(PartInfo::number).containsExactly(1, 2);
                    assertThat(parts).extracting(PartInfo::size).containsExactly((long) first.length, (long) last.length);
                  });
                  return store.completeMultipart(key, id, parts);
                })))
            .compose(v -> store.read(key, 0, whole.length))
            .compose(bytes -> {
              testContext.verify(() -> assertThat(sha256Hex(bytes.getBytes())).isEqualTo(sha256Hex(whole)));
              return store.openMultiparts("t/test/parts/", 1000);
            })
            .map(open -> {
              testContext.verify(() -> assertThat(open).extracting(OpenMultipart::uploadId).doesNotContain(id));
              return null;
            })
            .compose(v -> store.delete(key))))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void anAbortedUploadIsGoneAndAbortingTwiceIsFine(VertxTestContext testContext) {
    String key = uniqueKey("abort");
    on(context, () -> store.createMultipart(key, null)
        .compose(id -> store.uploadPart(key, id, 1, new byte[10], 10)
            .compose(etag -> store.abortMultipart(key, id))
            .compose(v -> store.abortMultipart(key, id))
            .compose(v -> store.openMultiparts(key, 1000))
            .map(open -> {
              testContext.verify(() -> assertThat(open).isEmpty());
              return null;
            })))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aPresignedPartUrlTakesAPutWithoutCredentials(VertxTestContext testContext) {
    String key = uniqueKey("presign");
    byte[] bytes = random(4096, 3);
    HttpClient http = HttpClient.newHttpClient();
    on(context, () -> store.createMultipart(key, null)
        .compose(id -> store.presignPart(key, id, 1, Duration.ofMinutes(5))
            .compose(url -> {
              testContext.verify(() -> assertThat(url).contains("X-Amz-Signature").doesNotContain(EmbeddedServers.S3_SECRET_KEY));
              return Future.fromCompletionStage(http.sendAsync(HttpRequest.newBuilder(URI.create(url))
                  .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString()), context);
            })
            .compose(resp -> {
              testContext.verify(() -> assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200));
              return store.listParts(key, id);
            })
            .compose(parts -> {
              testContext.verify(() -> assertThat(parts).extracting(PartInfo::size).containsExactly((long) bytes.length));
              return store.completeMultipart(key, id, parts);
            })
            .compose(v -> store.read(key, 0, bytes.length))
            .compose(read -> {
              testContext.verify(() -> assertThat(read.getBytes()).isEqualTo(bytes));
              return store.delete(key);
            })))
        .onComplete(testContext.succeedingThenComplete());
  }
}
