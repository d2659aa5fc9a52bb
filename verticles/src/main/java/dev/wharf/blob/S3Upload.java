package dev.wharf.blob;

import dev.wharf.error.ClientException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * One streamed write into S3: the state machine behind {@link S3BlobStore#put}.
 *
 * <p>The body is gathered into parts by a {@link PartBuffer} (one copy, hashed there). A body that ends
 * before the first part fills goes up as one {@code PutObject}; otherwise each full part goes up as an
 * {@code UploadPart} of a multipart upload, at most {@code partsInFlight} at a time. When a part is full
 * and no slot is free the body is paused, and resumed when a part finishes, so memory stays at about
 * {@code partSize * (partsInFlight + 1)} whatever the body size.
 *
 * <p>Every handler runs on {@code context}: body handlers because the body belongs to the caller's
 * context, S3 results because each call is brought back with {@code Future.fromCompletionStage(cf,
 * context)}. The state therefore needs no locking.
 */
final class S3Upload {

  private static final Logger log = LoggerFactory.getLogger(S3Upload.class);

  /** S3 allows at most this many parts per multipart upload. */
  private static final int MAX_PARTS = 10_000;

  /**
   * The first part array starts this small and doubles up to the part size, so small bodies stay small
   * (a tiny upload allocated and zeroed 64 KiB before; the doubling costs a large body a few small copies).
   */
  private static final int FIRST_ALLOCATION = 8 * 1024;

  private final S3AsyncClient s3;
  private final S3Http http;
  private final Context context;
  private final String bucket;
  private final String key;
  private final String contentType;
  private final ReadStream<Buffer> body;
  private final long maxBytes;
  private final int partSize;
  private final int partsInFlight;
  private final Function<String, Future<Void>> onMultipart;
  private final java.util.function.Consumer<software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration.Builder> timeouts;

  private final Promise<StoredBlob> result = Promise.promise();
  private final MessageDigest sha256 = newSha256();
  private final PartBuffer parts;
  private final List<Future<CompletedPart>> uploading = new ArrayList<>();
  private final List<CompletedPart> uploaded = new ArrayList<>();

  private long received;
  private int nextPartNumber = 1;
  private Future<String> created;
  private Future<String> uploadId;
  private boolean finishing;
  private boolean failed;

  S3Upload(S3AsyncClient s3, S3Http http, Context context, String bucket, String key, String contentType,
      ReadStream<Buffer> body, long maxBytes, int partSize, int partsInFlight, Function<String, Future<Void>> onMultipart,
      java.util.function.Consumer<software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration.Builder> timeouts) {
    this.s3 = s3;
    this.http = http;
    this.context = context;
    this.bucket = bucket;
    this.key = key;
    this.contentType = contentType;
    this.body = body;
    this.maxBytes = maxBytes;
    this.partSize = partSize;
    this.partsInFlight = partsInFlight;
    this.onMultipart = onMultipart;
    this.timeouts = timeouts;
    this.parts = new PartBuffer(body, partSize, FIRST_ALLOCATION, sha256::update);
  }

  /** Takes over the body (its handlers and flow) and returns what was stored. Call on {@code context}. */
  Future<StoredBlob> start() {
    body.exceptionHandler(this::fail);
    body.endHandler(v -> {
      parts.bodyEnded();
      advance();
    });
    body.handler(this::onData);
    body.resume();
    return result.future();
  }

  private void onData(Buffer data) {
    if (failed) {
      return;
    }
    received += data.length();
    if (received > maxBytes) {
      fail(ClientException.tooLarge("body is larger than " + maxBytes + " bytes"));
      return;
    }
    parts.add(data);
    advance();
  }

  /** Moves data along as far as free part slots allow; runs after every body or S3 event. */
  private void advance() {
    if (failed || finishing) {
      return;
    }
    if (parts.pump(() -> uploading.size() < partsInFlight, full -> uploadPart(full, partSize), () -> failed)) {
      finish();
    }
  }

  private void uploadPart(byte[] bytes, int length) {
    int partNumber = nextPartNumber++;
    if (partNumber > MAX_PARTS) {
      fail(ClientException.tooLarge("body needs more than " + MAX_PARTS + " parts"));
      return;
    }
    if (uploadId == null) {
      created = call(() -> s3.createMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(bucket).key(key).contentType(contentType)))
          .map(response -> response.uploadId());
      // No part goes up before the caller has recorded the id, so a crash cannot leave an upload nobody knows.
      uploadId = created.compose(id -> onMultipart.apply(id).map(id));
    }
    Future<CompletedPart> done = uploadId.compose(id -> http.put(key, S3Http.partQuery(id, partNumber), null, bytes, length)
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)))
        .map(etag -> CompletedPart.builder().partNumber(partNumber).eTag(etag).build()));
    uploading.add(done);
    done.onSuccess(completed -> {
      uploading.remove(done);
      uploaded.add(completed);
      if (length == partSize) {
        parts.recycle(bytes);
      }
      advance();
    }).onFailure(this::fail);
  }

  private void finish() {
    finishing = true;
    if (uploadId == null) {
      byte[] bytes = parts.current() == null ? new byte[0] : parts.current();
      int length = parts.filled();
      parts.clearCurrent();
      http.put(key, Map.of(), contentType, bytes, length)
          .recover(e -> Future.failedFuture(S3Failures.unavailable(e)))
          .onSuccess(response -> succeed())
          .onFailure(this::fail);
      return;
    }
    if (parts.filled() > 0) {
      uploadPart(parts.current(), parts.filled());
      parts.clearCurrent();
    }
    Future.all(new ArrayList<>(uploading))
        .compose(all -> uploadId)
        .compose(id -> {
          uploaded.sort(Comparator.comparingInt(CompletedPart::partNumber));
          return call(() -> s3.completeMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(bucket).key(key).uploadId(id)
              .multipartUpload(m -> m.parts(uploaded))));
        })
        .onSuccess(response -> succeed())
        .onFailure(this::fail);
  }

  private void succeed() {
    if (failed) {
      return;
    }
    parts.discard(false);
    result.complete(new StoredBlob(key, received, HexFormat.of().formatHex(sha256.digest())));
  }

  /**
   * Stops reading, waits for parts still on the wire, aborts the multipart upload (a single PUT is only
   * sent after the body ended, so it has nothing to undo) and only then fails the result, so that a failed
   * put leaves nothing behind when its future fails.
   */
  private void fail(Throwable cause) {
    if (failed) {
      return;
    }
    failed = true;
    parts.pause();
    parts.discard(true);
    Future<String> started = created;
    Future.join(new ArrayList<>(uploading))
        .transform(settled -> started == null ? Future.<Void>succeededFuture() : started.transform(
            created -> created.succeeded() ? abort(created.result()) : Future.<Void>succeededFuture()))
        .onComplete(aborted -> result.fail(cause));
  }

  private Future<Void> abort(String id) {
    return call(() -> s3.abortMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(bucket).key(key).uploadId(id)))
        .<Void>mapEmpty()
        .onFailure(e -> log.warn("multipart upload not aborted, a bucket lifecycle rule must clean it up "
            + "[key={}, upload={}]", key, id, e));
  }

  private <T> Future<T> call(Supplier<CompletableFuture<T>> request) {
    return S3BlobStore.call(context, request).recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }
}
