package dev.wharf.blob;

import static dev.wharf.blob.BlobTesting.PART_SIZE;
import static dev.wharf.blob.BlobTesting.failsWith;
import static dev.wharf.blob.BlobTesting.on;
import static dev.wharf.blob.BlobTesting.uniqueKey;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.devstack.EmbeddedServers;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@Timeout(value = 2, timeUnit = TimeUnit.MINUTES)
class S3BlobStoreOutageTest {

  private static EmbeddedServers servers;

  @BeforeAll
  static void startServers() {
    servers = EmbeddedServers.shared();
  }

  @Test
  void storageDownIsUnavailableAndRecovers(Vertx vertx, VertxTestContext testContext) throws Exception {
    S3BlobStore store = S3BlobStore.create(vertx, BlobTesting.config(servers));
    Context context = vertx.getOrCreateContext();
    AtomicBoolean down = new AtomicBoolean(true);
    servers.stopS3();
    try {
      failsWith(on(context, () -> store.put(uniqueKey("down-small"), GeneratedBody.of(context, 1000, 1), 1000, null)),
              503, "storage_unavailable")
          .compose(e -> {
            assertThat(e.getCause()).isNotNull();
            return failsWith(on(context, () -> store.put(uniqueKey("down-multipart"),
                GeneratedBody.of(context, 3L * PART_SIZE, 2), Long.MAX_VALUE, null)), 503, "storage_unavailable");
          })
          .compose(e -> failsWith(store.ping(), 503, "storage_unavailable"))
          .compose(e -> failsWith(store.head(uniqueKey("down-head")), 503, "storage_unavailable"))
          .compose(e -> vertx.executeBlocking(() -> {
            servers.startS3Again();
            down.set(false);
            return null;
          }))
          .compose(restarted -> store.ping())
          .compose(up -> on(context, () -> store.put(uniqueKey("up-again"), GeneratedBody.of(context, 1000, 3), 1000, null)))
          .eventually(() -> store.close())
          .onComplete(testContext.succeedingThenComplete());
      assertThat(testContext.awaitCompletion(90, TimeUnit.SECONDS)).isTrue();
    } finally {
      if (down.get()) {
        servers.startS3Again();
      }
    }
  }
}
