package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.PART_SIZE;
import static dev.wharf.blob.BlobTesting.failsWith;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.openUploads;
import static dev.wharf.blob.BlobTesting.sha256Hex;
import static dev.wharf.blob.BlobTesting.uniqueKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.S3Config;
import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@Timeout(value = 2, timeUnit = TimeUnit.MINUTES)
class S3BlobStoreTest {

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

  @Test
  void smallObjectRoundTrips(VertxTestContext testContext) {
    String key = uniqueKey("round-trip");
    GeneratedBody body = GeneratedBody.of(context, 300_000, 1);
    on(context, () -> store.put(key, body, 1_000_000, "application/octet-stream"))
        .compose(stored -> {
          assertThat(stored.key()).isEqualTo(key);
          assertThat(stored.size()).isEqualTo(300_000);
          assertThat(stored.sha256()).isEqualTo(body.sha256Hex()).hasSize(64);
          return store.head(key);
        })
        .compose(info -> {
          assertThat(info.size()).isEqualTo(300_000);
          assertThat(info.etag()).isNotBlank().doesNotContain("\"");
          return on(context, () -> store.open(key, null).compose(BlobTesting::drain));
        })
        .onComplete(testContext.succeeding(drained -> testContext.verify(() -> {
          assertThat(drained.size()).isEqualTo(300_000);
          assertThat(drained.sha256()).isEqualTo(sha256Hex(GeneratedBody.bytes(300_000, 1)));
          testContext.completeNow();
        })));
  }

  @Test
  void emptyBodyIsStoredAsAnEmptyObject(VertxTestContext testContext) {
    String key = uniqueKey("empty");
    on(context, () -> store.put(key, GeneratedBody.of(context, 0, 2), 10, null))
        .compose(stored -> {
          assertThat(stored.size()).isZero();
          assertThat(stored.sha256()).isEqualTo(sha256Hex(new byte[0]));
          return store.head(key);
        })
        .onComplete(testContext.succeeding(info -> testContext.verify(() -> {
          assertThat(info.size()).isZero();
          testContext.completeNow();
        })));
  }

  @Test
  void bodyOfExactlyOnePartIsStored(VertxTestContext testContext) {
    String key = uniqueKey("one-part");
    GeneratedBody body = GeneratedBody.of(context, PART_SIZE, 3);
    on(context, () -> store.put(key, body, PART_SIZE, null))
        .compose(stored -> {
          assertThat(stored.size()).isEqualTo(PART_SIZE);
          return on(context, () -> store.open(key, null).compose(BlobTesting::drain));
        })
        .onComplete(testContext.succeeding(drained -> testContext.verify(() -> {
          assertThat(drained.size()).isEqualTo(PART_SIZE);
          assertThat(drained.sha256()).isEqualTo(body.sha256Hex());
          testContext.completeNow();
        })));
  }

  @Test
  void bodyOverTheLimitBelowPartSizeIsRefusedAndNothingIsStored(VertxTestContext testContext) {
    String key = uniqueKey("too-large-small");
    GeneratedBody body = GeneratedBody.of(context, 2 * 1024 * 1024, 4);
    failsWith(on(context, () -> store.put(key, body, 1024 * 1024, null)), 413, "payload_too_large")
        .compose(refused -> {
          assertThat(body.emitted()).isLessThan(2 * 1024 * 1024);
          return failsWith(store.head(key), 404, "not_found");
        })
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void bodyOverTheLimitAbovePartSizeAbortsTheMultipartUpload(VertxTestContext testContext) {
    String key = uniqueKey("too-large-multipart");
    long limit = 3L * PART_SIZE + 100;
    GeneratedBody body = GeneratedBody.of(context, 6L * PART_SIZE, 5);
    failsWith(on(context, () -> store.put(key, body, limit, null)), 413, "payload_too_large")
        .compose(refused -> {
          assertThat(body.emitted()).isLessThan(6L * PART_SIZE);
          return failsWith(store.head(key), 404, "not_found");
        })
        .compose(absent -> openUploads(context, store, key))
        .onComplete(testContext.succeeding(uploads -> testContext.verify(() -> {
          assertThat(uploads).isEmpty();
          testContext.completeNow();
        })));
  }

  @Test
  void bodyFailingMidwayAbortsTheMultipartUpload(VertxTestContext testContext) {
    String key = uniqueKey("body-fails-multipart");
    GeneratedBody body = GeneratedBody.failingAfter(context, 2L * PART_SIZE + 12345, 6);
    on(context, () -> store.put(key, body, Long.MAX_VALUE, null))
        .transform(ar -> {
          assertThat(ar.failed()).isTrue();
          assertThat(ar.cause()).isInstanceOf(IOException.class).hasMessage("client went away");
          return failsWith(store.head(key), 404, "not_found");
        })
        .compose(absent -> openUploads(context, store, key))
        .onComplete(testContext.succeeding(uploads -> testContext.verify(() -> {
          assertThat(uploads).isEmpty();
          testContext.completeNow();
        })));
  }

  @Test
  void bodyFailingBeforeTheFirstPartStoresNothing(VertxTestContext testContext) {
    String key = uniqueKey("body-fails-small");
    GeneratedBody body = GeneratedBody.failingAfter(context, 100_000, 7);
    on(context, () -> store.put(key, body, Long.MAX_VALUE, null))
        .transform(ar -> {
          assertThat(ar.cause()).isInstanceOf(IOException.class);
          return failsWith(store.head(key), 404, "not_found");
        })
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void rangedOpenAndReadReturnTheRightBytes(VertxTestContext testContext) {
    String key = uniqueKey("ranges");
    int size = PART_SIZE + 500_000;
    byte[] expected = GeneratedBody.bytes(size, 8);
    on(context, () -> store.put(key, GeneratedBody.of(context, size, 8), size, null))
        .compose(stored -> on(context, () -> store.open(key, new ByteRange(PART_SIZE - 1000, PART_SIZE + 999))
            .compose(BlobTesting::collect)))
        .compose(ranged -> {
          assertThat(ranged.getBytes()).isEqualTo(Arrays.copyOfRange(expected, PART_SIZE - 1000, PART_SIZE + 1000));
          return store.read(key, 12_345, 4096);
        })
        .compose(read -> {
          assertThat(read.getBytes()).isEqualTo(Arrays.copyOfRange(expected, 12_345, 12_345 + 4096));
          return store.read(key, size - 10, 10);
        })
        .onComplete(testContext.succeeding(tail -> testContext.verify(() -> {
          assertThat(tail.getBytes()).isEqualTo(Arrays.copyOfRange(expected, size - 10, size));
          testContext.completeNow();
        })));
  }

  @Test
  void absentObjectIsNotFound(VertxTestContext testContext) {
    String key = uniqueKey("absent");
    failsWith(store.open(key, null), 404, "not_found")
        .compose(e -> failsWith(store.open(key, new ByteRange(0, 10)), 404, "not_found"))
        .compose(e -> failsWith(store.read(key, 0, 10), 404, "not_found"))
        .compose(e -> failsWith(store.head(key), 404, "not_found"))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void rangePastTheEndIsNotSatisfiable(VertxTestContext testContext) {
    String key = uniqueKey("range-past-end");
    on(context, () -> store.put(key, GeneratedBody.of(context, 1000, 9), 1000, null))
        .compose(stored -> failsWith(store.open(key, new ByteRange(5000, 6000)), 416, "range_not_satisfiable"))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void deleteRemovesTheObjectAndDeletingAnAbsentOneSucceeds(VertxTestContext testContext) {
    String key = uniqueKey("delete");
    on(context, () -> store.put(key, GeneratedBody.of(context, 1000, 10), 1000, null))
        .compose(stored -> store.delete(key))
        .compose(deleted -> failsWith(store.head(key), 404, "not_found"))
        .compose(absent -> store.delete(key))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aRefusedDataRequestFailsWith503NamingS3sErrorCode(Vertx vertx, VertxTestContext testContext) {
    String key = uniqueKey("refused");
    S3Config base = BlobTesting.config(servers);
    S3Config wrongSecret = new S3Config(base.endpoint(), base.region(), base.bucket(), base.accessKey(), base.secretKey() + "-not",
        true, base.partSize(), base.partsInFlight());
    S3BlobStore refused = S3BlobStore.create(vertx, wrongSecret);
    on(context, () -> store.putBytes(key, new byte[] {1, 2, 3}, 3))
        .compose(stored -> failsWith(on(context, () -> refused.read(key, 0, 3)), 503, "storage_unavailable"))
        .compose(e -> {
          testContext.verify(() -> {
            assertThat(e.getCause()).isInstanceOf(S3ErrorResponse.class).hasMessageContaining("403");
            String code = ((S3ErrorResponse) e.getCause()).code();
            assertThat(code).isNotBlank();
            assertThat(e.getCause()).hasMessageContaining(code);
          });
          return failsWith(on(context, () -> refused.putBytes(key + "-2", new byte[] {4}, 1)), 503, "storage_unavailable");
        })
        .compose(e -> on(context, () -> store.delete(key)))
        .eventually(() -> refused.close())
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void ensureBucketCreatesAMissingBucketAndAcceptsAnExistingOne(Vertx vertx, VertxTestContext testContext) {
    S3Config base = BlobTesting.config(servers);
    S3Config other = new S3Config(base.endpoint(), base.region(), "wharf-" + UUID.randomUUID(),
        base.accessKey(), base.secretKey(), true, base.partSize(), base.partsInFlight());
    S3BlobStore fresh = S3BlobStore.create(vertx, other);
    failsWith(fresh.ping(), 503, "storage_unavailable")
        .compose(missing -> fresh.ensureBucket())
        .compose(created -> fresh.ensureBucket())
        .compose(again -> fresh.ping())
        .eventually(() -> fresh.close())
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void openDeliversOnlyWhatTheReaderFetched(Vertx vertx, VertxTestContext testContext) {
    String key = uniqueKey("fetch");
    int size = 3 * 1024 * 1024;
    on(context, () -> store.put(key, GeneratedBody.of(context, size, 11), size, null))
        .compose(stored -> on(context, () -> store.open(key, null).compose(stream -> {
          long[] granted = {1};
          long[] delivered = {0};
          Buffer all = Buffer.buffer();
          stream.pause();
          stream.handler(chunk -> {
            delivered[0]++;
            if (delivered[0] > granted[0]) {
              testContext.failNow(new AssertionError("chunk " + delivered[0] + " beyond " + granted[0] + " fetched"));
            }
            all.appendBuffer(chunk);
            vertx.setTimer(1, t -> {
              granted[0]++;
              stream.fetch(1);
            });
          });
          Future<Buffer> ended = Future.future(end -> stream.endHandler(v -> end.complete(all)));
          stream.fetch(1);
          return ended;
        })))
        .onComplete(testContext.succeeding(all -> testContext.verify(() -> {
          assertThat(all.length()).isEqualTo(size);
          assertThat(sha256Hex(all.getBytes())).isEqualTo(sha256Hex(GeneratedBody.bytes(size, 11)));
          testContext.completeNow();
        })));
  }
}
