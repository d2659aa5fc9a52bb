package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.blob.BlobInfo;
import dev.wharf.blob.BlobStore;
import dev.wharf.blob.ByteRange;
import dev.wharf.blob.OpenMultipart;
import dev.wharf.blob.PartInfo;
import dev.wharf.blob.StoredBlob;
import dev.wharf.config.IngestConfig;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A storage read that stalls does not hold a job forever: after {@code ingest.stall-timeout} without a byte
 * the attempt fails and the job is retried, and a healthy worker then finishes it. The stall is made by
 * reading the real object from the real S3 server through a stream that never delivers.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class IngestStallTest {

  @Test
  void aStalledReadLosesTheJobWhichIsRetriedAndFinished() throws Exception {
    TestStack stack = TestStack.get();
    Services s = stack.app.services();
    Tenant t = await(stack.newTenant());
    TestStack.Uploaded up = await(stack.uploadUrgent(t, "s.json", "{\"stall\":true}"));
    UUID job = up.jobId();

    IngestConfig base = s.config().ingest();
    IngestConfig stalling = new IngestConfig(1, 2, Duration.ofSeconds(30), 10, base.backoffBase(), base.backoffMax(), base.pollInterval(),
        base.reconcileInterval(), base.staleUploadAfter(), Duration.ofSeconds(1), base.retention());
    String stalled = await(stack.startWorker(new StallingReads(s.blobs()), stalling));
    try {
      // The lease is 30 s; only the stall timeout can end this attempt that soon.
      await(stack.eventually(Duration.ofSeconds(20), () -> s.pool().preparedQuery("SELECT last_error FROM ingest_jobs WHERE id = $1")
          .execute(Tuple.of(job)).map(rows -> {
            String error = rows.iterator().next().getString("last_error");
            return error != null && error.contains("storage stalled");
          })));
    } finally {
      await(stack.vertx.undeploy(stalled));
    }
    String healthy = await(stack.startWorkers(2));
    try {
      assertThat(await(stack.awaitFileStatus(t, up.fileId(), "processed", Duration.ofSeconds(30))).getString("status"))
          .isEqualTo("processed");
    } finally {
      await(stack.vertx.undeploy(healthy));
    }
  }

  /** The real store, whose object reads open for real and then never deliver a byte. */
  private record StallingReads(BlobStore real) implements BlobStore {

    @Override
    public Future<ReadStream<Buffer>> open(String key, ByteRange range) {
      return real.open(key, range).map(stream -> {
        stream.pause();
        return new Silent();
      });
    }

    @Override
    public Future<StoredBlob> put(String key, ReadStream<Buffer> body, long maxBytes, String contentType, Function<String, Future<Void>> onMultipart) {
      return real.put(key, body, maxBytes, contentType, onMultipart);
    }

    @Override
    public Future<Void> putBytes(String key, byte[] bytes, int length) {
      return real.putBytes(key, bytes, length);
    }

    @Override
    public Future<String> createMultipart(String key, String contentType) {
      return real.createMultipart(key, contentType);
    }

    @Override
    public Future<String> uploadPart(String key, String uploadId, int partNumber, byte[] bytes, int length) {
      return real.uploadPart(key, uploadId, partNumber, bytes, length);
    }

    @Override
    public Future<dev.wharf.blob.StoredPart> putPart(String key, String uploadId, int partNumber, ReadStream<Buffer> body, long length) {
      return real.putPart(key, uploadId, partNumber, body, length);
    }

    @Override
    public Future<List<PartInfo>> listParts(String key, String uploadId) {
      return real.listParts(key, uploadId);
    }

    @Override
    public Future<Void> completeMultipart(String key, String uploadId, List<PartInfo> parts) {
      return real.completeMultipart(key, uploadId, parts);
    }

    @Override
    public Future<Void> abortMultipart(String key, String uploadId) {
      return real.abortMultipart(key, uploadId);
    }

    @Override
    public Future<List<OpenMultipart>> openMultiparts(String prefix, int limit) {
      return real.openMultiparts(prefix, limit);
    }

    @Override
    public Future<String> presignPart(String key, String uploadId, int partNumber, Duration ttl) {
      return real.presignPart(key, uploadId, partNumber, ttl);
    }

    @Override
    public Future<BlobInfo> head(String key) {
      return real.head(key);
    }

    @Override
    public Future<Buffer> read(String key, long offset, int length) {
      return real.read(key, offset, length);
    }

    @Override
    public Future<Void> delete(String key) {
      return real.delete(key);
    }

    @Override
    public Future<Void> ping() {
      return real.ping();
    }

    @Override
    public Future<Void> ensureBucket() {
      return real.ensureBucket();
    }
  }

  /** A stream that never delivers anything. */
  private static final class Silent implements ReadStream<Buffer> {
    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> handler) {
      return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return this;
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
      return this;
    }
  }
}
