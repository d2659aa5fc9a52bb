package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.failsWith;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.uniqueKey;

import dev.wharf.config.S3Config;
import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.devstack.FaultProxy;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A connected S3 that stops answering: a TCP proxy in front of the embedded S3 server that stops forwarding.
 * Calls end with 503 {@code storage_unavailable} after {@code s3.call-timeout}, instead of hanging, and work
 * again once storage answers.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 2, timeUnit = TimeUnit.MINUTES)
class S3StallTest {

  private FaultProxy proxy;
  private S3BlobStore store;
  private Context context;

  @BeforeEach
  void start(Vertx vertx) throws IOException {
    EmbeddedServers servers = EmbeddedServers.shared();
    URI s3 = URI.create(servers.s3Endpoint());
    proxy = new FaultProxy(s3.getHost(), s3.getPort());
    S3Config base = BlobTesting.config(servers);
    S3Config config = new S3Config(URI.create("http://127.0.0.1:" + proxy.port()), base.region(), base.bucket(), base.accessKey(),
        base.secretKey(), true, base.partSize(), base.partsInFlight(), Duration.ofSeconds(3), Duration.ofSeconds(1));
    store = S3BlobStore.create(vertx, config);
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void stop(VertxTestContext testContext) throws IOException {
    proxy.close();
    store.close().onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aStalledStorageAnswers503InsteadOfHangingAndRecovers(VertxTestContext testContext) {
    String key = uniqueKey("stall");
    on(context, () -> store.putBytes(key, new byte[] {1, 2, 3}, 3))
        .compose(v -> {
          proxy.stall();
          return failsWith(on(context, () -> store.head(key)), 503, "storage_unavailable");
        })
        .compose(e -> failsWith(on(context, () -> store.putBytes(key + "-2", new byte[] {4}, 1)), 503, "storage_unavailable"))
        .compose(e -> failsWith(on(context, () -> store.createMultipart(key + "-3", null)), 503, "storage_unavailable"))
        .compose(e -> {
          proxy.forward();
          return on(context, () -> store.head(key));
        })
        .compose(info -> on(context, () -> store.delete(key)))
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aDownloadWhoseStorageStallsMidBodyFailsWith503(VertxTestContext testContext) {
    String key = uniqueKey("stall-read");
    int size = 32 * 1024 * 1024;
    byte[] bytes = new byte[size];
    long[] received = {0};
    on(context, () -> store.putBytes(key, bytes, size))
        .compose(v -> on(context, () -> store.open(key, null)))
        .compose(stream -> {
          // Storage stops sending once the headers are in: what the socket buffers held arrives, then nothing.
          proxy.stall();
          return failsWith(BlobTesting.drain(new Counting(stream, received)), 503, "storage_unavailable");
        })
        .compose(e -> {
          proxy.forward();
          testContext.verify(() -> org.assertj.core.api.Assertions.assertThat(received[0]).isLessThan(size));
          return on(context, () -> store.delete(key));
        })
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aStreamedPutWhoseStorageStallsFailsWith503AndStoresNothing(VertxTestContext testContext) {
    String key = uniqueKey("stall-streamed-put");
    long size = 4L * BlobTesting.PART_SIZE;
    // Storage takes the connection, then nothing: the socket buffers fill, the body is paused, and after the
    // attempt timeout (1 s here) the PUT is reset rather than left hanging.
    proxy.stall();
    GeneratedBody body = GeneratedBody.of(context, size, 21);
    failsWith(on(context, () -> store.put(key, body, size, size, null, id -> io.vertx.core.Future.succeededFuture())),
        503, "storage_unavailable")
        .compose(e -> {
          testContext.verify(() -> org.assertj.core.api.Assertions.assertThat(body.emitted()).isLessThan(size));
          proxy.forward();
          return failsWith(on(context, () -> store.head(key)), 404, "not_found");
        })
        .onComplete(testContext.succeedingThenComplete());
  }

  @Test
  void aReaderThatPausesLongerThanTheIdleTimeoutIsNotCut(Vertx vertx, VertxTestContext testContext) {
    String key = uniqueKey("slow-reader");
    int size = 8 * 1024 * 1024;
    byte[] bytes = new byte[size];
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) (i * 31);
    }
    on(context, () -> store.putBytes(key, bytes, size))
        .compose(v -> on(context, () -> store.open(key, null)))
        .compose(stream -> {
          io.vertx.core.Promise<BlobTesting.Drained> drained = io.vertx.core.Promise.promise();
          context.runOnContext(v -> {
            stream.pause();
            BlobTesting.drain(stream).onComplete(drained);
            stream.pause();
            // Paused for three idle timeouts (the attempt timeout is 1 s here), then read on.
            vertx.setTimer(3_000, t -> stream.resume());
          });
          return drained.future();
        })
        .compose(drained -> {
          testContext.verify(() -> {
            org.assertj.core.api.Assertions.assertThat(drained.size()).isEqualTo(size);
            org.assertj.core.api.Assertions.assertThat(drained.sha256()).isEqualTo(BlobTesting.sha256Hex(bytes));
          });
          return on(context, () -> store.delete(key));
        })
        .onComplete(testContext.succeedingThenComplete());
  }

  /** Passes a stream through, counting the bytes that went by. */
  private record Counting(io.vertx.core.streams.ReadStream<io.vertx.core.buffer.Buffer> stream, long[] count)
      implements io.vertx.core.streams.ReadStream<io.vertx.core.buffer.Buffer> {

    @Override
    public Counting exceptionHandler(io.vertx.core.Handler<Throwable> handler) {
      stream.exceptionHandler(handler);
      return this;
    }

    @Override
    public Counting handler(io.vertx.core.Handler<io.vertx.core.buffer.Buffer> handler) {
      stream.handler(handler == null ? null : chunk -> {
        count[0] += chunk.length();
        handler.handle(chunk);
      });
      return this;
    }

    @Override
    public Counting pause() {
      stream.pause();
      return this;
    }

    @Override
    public Counting resume() {
      stream.resume();
      return this;
    }

    @Override
    public Counting fetch(long amount) {
      stream.fetch(amount);
      return this;
    }

    @Override
    public Counting endHandler(io.vertx.core.Handler<Void> endHandler) {
      stream.endHandler(endHandler);
      return this;
    }
  }
}
