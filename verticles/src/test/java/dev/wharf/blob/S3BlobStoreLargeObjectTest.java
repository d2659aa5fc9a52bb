package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.PART_SIZE;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.uniqueKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.wharf.devstack.EmbeddedServers;
import io.netty.util.Version;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A body far larger than memory should hold for one upload, streamed in through multipart and back out
 * through an HTTP response with {@code pipeTo}. It also pins the choice of HTTP client: only Vert.x's Netty
 * 4.2 is on the class path, next to the SDK's CRT client.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 5, timeUnit = TimeUnit.MINUTES)
class S3BlobStoreLargeObjectTest {

  private static final Logger log = LoggerFactory.getLogger(S3BlobStoreLargeObjectTest.class);
  private static final long SIZE = 300L * 1024 * 1024;

  private static EmbeddedServers servers;

  @BeforeAll
  static void startServers() {
    servers = EmbeddedServers.shared();
  }

  @Test
  void largeBodyStreamsThroughMultipartAndBackThroughAnHttpResponse(Vertx vertx, VertxTestContext testContext) {
    S3BlobStore store = S3BlobStore.create(vertx, BlobTesting.config(servers));
    Context context = vertx.getOrCreateContext();
    String key = uniqueKey("large");
    GeneratedBody body = GeneratedBody.of(context, SIZE, 42);
    long started = System.nanoTime();
    long[] uploaded = {0};
    on(context, () -> store.put(key, body, SIZE, "application/octet-stream"))
        .compose(stored -> {
          uploaded[0] = System.nanoTime();
          assertThat(stored.size()).isEqualTo(SIZE);
          assertThat(stored.sha256()).isEqualTo(body.sha256Hex());
          assertThat(body.pauses()).as("the upload paused the body for backpressure").isPositive();
          return serve(vertx, store, key);
        })
        .compose(server -> vertx.createHttpClient()
            .request(HttpMethod.GET, server.actualPort(), "127.0.0.1", "/")
            .compose(request -> request.send())
            .compose(response -> {
              assertThat(response.statusCode()).isEqualTo(200);
              return BlobTesting.drain(response);
            })
            .eventually(() -> server.close()))
        .eventually(() -> store.close())
        .onComplete(testContext.succeeding(drained -> testContext.verify(() -> {
          long done = System.nanoTime();
          log.info("large object streamed [size={} MiB, upload={} ms, download={} ms, parts={} MiB x {} in flight]",
              SIZE >> 20, (uploaded[0] - started) / 1_000_000, (done - uploaded[0]) / 1_000_000,
              PART_SIZE >> 20, 2);
          assertThat(drained.size()).isEqualTo(SIZE);
          assertThat(drained.sha256()).isEqualTo(body.sha256Hex());
          testContext.completeNow();
        })));
  }

  @Test
  void onlyVertxNetty42IsOnTheClassPath() {
    assertThat(Version.identify()).isNotEmpty().allSatisfy((artifact, version) ->
        assertThat(version.artifactVersion()).as(artifact).startsWith("4.2."));
    assertThatThrownBy(() -> Class.forName("software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient"))
        .isInstanceOf(ClassNotFoundException.class);
  }

  /** An HTTP server that streams the object to whoever asks, the way the download route will. */
  private static Future<HttpServer> serve(Vertx vertx, S3BlobStore store, String key) {
    return vertx.createHttpServer()
        .requestHandler(request -> store.open(key, null)
            .compose(stream -> stream.pipeTo(request.response().setChunked(true)))
            .onFailure(e -> request.response().setStatusCode(500).end()))
        .listen(0, "127.0.0.1");
  }
}
