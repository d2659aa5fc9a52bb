package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.PART_SIZE;
import static dev.wharf.blob.BlobTesting.failsWith;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.openUploads;
import static dev.wharf.blob.BlobTesting.uniqueKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.config.S3Config;
import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bodies that declare their length, larger than a part: streamed to s3proxy as one PUT, with no multipart
 * upload and no part buffers; a body that breaks its declared length or is cut leaves nothing stored; with
 * streaming off or every streamed-PUT connection taken, the multipart path takes the body.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 2, timeUnit = TimeUnit.MINUTES)
class S3StreamPutTest {

  private static final long SIZE = 3L * PART_SIZE + 12_345;

  private Vertx vertx;
  private Context context;
  private S3BlobStore store;
  private final List<String> multipartsOpened = new CopyOnWriteArrayList<>();

  @BeforeEach
  void createStore(Vertx vertx) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.store = S3BlobStore.create(vertx, BlobTesting.config(EmbeddedServers.shared()));
  }

  @AfterEach
  void closeStore(VertxTestContext testContext) {
    store.close().onComplete(testContext.succeedingThenComplete());
  }

  private Future<StoredBlob> put(S3BlobStore into, String key, ReadStream<Buffer> body, long declared) {
    return on(context, () -> into.put(key, body, declared, 1L << 30, "application/octet-stream", id -> {
      multipartsOpened.add(id);
      return Future.succeededFuture();
    }));
  }

  @Test
  void aDeclaredBodyLargerThanAPartGoesUpAsOnePut(VertxTestContext testContext) {
    String key = uniqueKey("streamed");
    GeneratedBody body = GeneratedBody.of(context, SIZE, 11);
    put(store, key, body, SIZE)
        .compose(stored -> {
          testContext.verify(() -> {
            assertThat(stored.size()).isEqualTo(SIZE);
            assertThat(stored.sha256()).isEqualTo(body.sha256Hex());
            assertThat(multipartsOpened).as("no multipart upload for a streamed body").isEmpty();
          });
          return on(context, () -> store.open(key, null).compose(BlobTesting::drain));
        })
        .compose(drained -> {
          testContext.verify(() -> {
            assertThat(drained.size()).isEqualTo(SIZE);
            assertThat(drained.sha256()).isEqualTo(body.sha256Hex());
          });
          return openUploads(context, store, key);
        })
        .onComplete(testContext.succeeding(open -> testContext.verify(() -> {
          assertThat(open).isEmpty();
          testContext.completeNow();
        })));
  }

  @Test
  void aBodyShorterThanDeclaredIsRefusedAndNothingIsStored(VertxTestContext testContext) {
    String key = uniqueKey("short");
    failsWith(put(store, key, GeneratedBody.of(context, 2L * PART_SIZE, 12), SIZE), 400, "body_too_short")
        .compose(refused -> failsWith(store.head(key), 404, "not_found"))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aBodyLongerThanDeclaredIsRefusedAndNothingIsStored(VertxTestContext testContext) {
    String key = uniqueKey("long");
    failsWith(put(store, key, GeneratedBody.of(context, SIZE, 13), 2L * PART_SIZE), 400, "body_too_long")
        .compose(refused -> failsWith(store.head(key), 404, "not_found"))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aBodyCutMidwayFailsAndNothingIsStored(VertxTestContext testContext) {
    String key = uniqueKey("cut");
    put(store, key, GeneratedBody.failingAfter(context, 2L * PART_SIZE, 14), SIZE)
        .transform(ar -> {
          testContext.verify(() -> assertThat(ar.failed()).as("a cut body must fail the put").isTrue());
          return failsWith(store.head(key), 404, "not_found");
        })
        .compose(absent -> openUploads(context, store, key))
        .onComplete(testContext.succeeding(open -> testContext.verify(() -> {
          assertThat(open).isEmpty();
          assertThat(multipartsOpened).isEmpty();
          testContext.completeNow();
        })));
  }

  @Test
  void withStreamingOffTheBodyGoesUpInParts(VertxTestContext testContext) {
    S3Config base = BlobTesting.config(EmbeddedServers.shared());
    S3BlobStore partsOnly = S3BlobStore.create(vertx, new S3Config(base.endpoint(), base.region(), base.bucket(), base.accessKey(),
        base.secretKey(), true, base.partSize(), base.partsInFlight(), base.callTimeout(), base.attemptTimeout(),
        base.maxConnections(), 0));
    String key = uniqueKey("parts");
    GeneratedBody body = GeneratedBody.of(context, SIZE, 15);
    put(partsOnly, key, body, SIZE)
        .onComplete(testContext.succeeding(stored -> testContext.verify(() -> {
          assertThat(stored.sha256()).isEqualTo(body.sha256Hex());
          assertThat(multipartsOpened).hasSize(1);
          partsOnly.close().onComplete(testContext.succeedingThenComplete());
        })));
  }

  @Test
  void whenEveryStreamedPutConnectionIsTakenTheBodyGoesUpInParts(VertxTestContext testContext) {
    S3Config base = BlobTesting.config(EmbeddedServers.shared());
    S3BlobStore oneStream = S3BlobStore.create(vertx, new S3Config(base.endpoint(), base.region(), base.bucket(), base.accessKey(),
        base.secretKey(), true, base.partSize(), base.partsInFlight(), base.callTimeout(), base.attemptTimeout(), 1,
        S3Config.MAX_SINGLE_PUT));
    String heldKey = uniqueKey("held");
    String otherKey = uniqueKey("other");
    HeldBody held = new HeldBody(context, SIZE);
    Future<StoredBlob> first = put(oneStream, heldKey, held, SIZE);
    GeneratedBody other = GeneratedBody.of(context, SIZE, 16);
    put(oneStream, otherKey, other, SIZE)
        .compose(stored -> {
          testContext.verify(() -> {
            assertThat(stored.sha256()).isEqualTo(other.sha256Hex());
            assertThat(multipartsOpened).as("the second body, with the one stream taken, went up in parts").hasSize(1);
          });
          context.runOnContext(v -> held.release());
          return first;
        })
        .onComplete(testContext.succeeding(stored -> testContext.verify(() -> {
          assertThat(stored.size()).isEqualTo(SIZE);
          assertThat(multipartsOpened).as("the held body was streamed").hasSize(1);
          oneStream.close().onComplete(testContext.succeedingThenComplete());
        })));
  }

  /** {@code size} zero bytes: the first chunk when read, the rest only after {@link #release()}. */
  private static final class HeldBody implements ReadStream<Buffer> {

    private static final int CHUNK = 64 * 1024;
    private final Context context;
    private final long size;
    private long emitted;
    private boolean paused = true;
    private boolean released;
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;

    HeldBody(Context context, long size) {
      this.context = context;
      this.size = size;
    }

    void release() {
      released = true;
      emit();
    }

    private void emit() {
      while (!paused && handler != null && emitted < size && (released || emitted == 0)) {
        int n = (int) Math.min(CHUNK, size - emitted);
        emitted += n;
        handler.handle(Buffer.buffer(new byte[n]));
      }
      if (emitted == size && endHandler != null) {
        Handler<Void> end = endHandler;
        endHandler = null;
        end.handle(null);
      }
    }

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> handler) {
      this.handler = handler;
      return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
      paused = true;
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      paused = false;
      context.runOnContext(v -> emit());
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return resume();
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      this.endHandler = endHandler;
      return this;
    }
  }
}
