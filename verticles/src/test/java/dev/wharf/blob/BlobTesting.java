package dev.wharf.blob;

import dev.wharf.config.S3Config;
import dev.wharf.devstack.EmbeddedServers;
import dev.wharf.error.WharfException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/** What the blob tests share: the store's settings, running on one context, reading streams back. */
final class BlobTesting {

  static final int PART_SIZE = S3Config.MIN_PART_SIZE;

  private BlobTesting() {}

  static S3Config config(EmbeddedServers servers) {
    return new S3Config(URI.create(servers.s3Endpoint()), "us-east-1", EmbeddedServers.S3_BUCKET,
        EmbeddedServers.S3_ACCESS_KEY, EmbeddedServers.S3_SECRET_KEY, true, PART_SIZE, 2);
  }

  static String uniqueKey(String test) {
    return "t/test/" + test + "/" + UUID.randomUUID();
  }

  /** Runs {@code action} on {@code context}, as a verticle would. */
  static <T> Future<T> on(Context context, Supplier<Future<T>> action) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(result));
    return result.future();
  }

  /** Reads a stream to its end, keeping only the byte count and the SHA-256. */
  static Future<Drained> drain(ReadStream<Buffer> stream) {
    Promise<Drained> result = Promise.promise();
    MessageDigest sha256 = sha256();
    long[] size = {0};
    stream.exceptionHandler(result::tryFail);
    stream.endHandler(v -> result.tryComplete(new Drained(size[0], HexFormat.of().formatHex(sha256.digest()))));
    stream.handler(chunk -> {
      size[0] += chunk.length();
      sha256.update(chunk.getBytes());
    });
    return result.future();
  }

  /** Reads a small stream into memory. */
  static Future<Buffer> collect(ReadStream<Buffer> stream) {
    Promise<Buffer> result = Promise.promise();
    Buffer all = Buffer.buffer();
    stream.exceptionHandler(result::tryFail);
    stream.endHandler(v -> result.tryComplete(all));
    stream.handler(all::appendBuffer);
    return result.future();
  }

  /** Multipart uploads still open under {@code key}. */
  static Future<List<MultipartUpload>> openUploads(Context context, S3BlobStore store, String key) {
    return Future.fromCompletionStage(
            store.client().listMultipartUploads(b -> b.bucket(EmbeddedServers.S3_BUCKET).prefix(key)), context)
        .map(listing -> listing.uploads());
  }

  /** Succeeds when {@code future} failed with a {@link WharfException} of this status and code. */
  static Future<WharfException> failsWith(Future<?> future, int status, String code) {
    return future.transform(ar -> {
      if (ar.succeeded()) {
        return Future.failedFuture(new AssertionError("expected " + status + " " + code + ", got " + ar.result()));
      }
      if (ar.cause() instanceof WharfException e && e.status() == status && e.code().equals(code)) {
        return Future.succeededFuture(e);
      }
      return Future.failedFuture(new AssertionError("expected " + status + " " + code + ", got " + ar.cause(),
          ar.cause()));
    });
  }

  static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  record Drained(long size, String sha256) {}
}
