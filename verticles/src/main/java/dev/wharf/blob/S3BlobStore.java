package dev.wharf.blob;

import dev.wharf.config.S3Config;
import dev.wharf.error.ServerException;
import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import java.util.function.Supplier;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.UploadPartPresignRequest;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.SdkAdvancedAsyncClientOption;
import software.amazon.awssdk.http.crt.AwsCrtAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;

/**
 * {@link BlobStore} on an S3-compatible object store, through the SDK's {@link S3AsyncClient} on the CRT
 * HTTP client (the SDK's Netty client wants Netty 4.1, Vert.x brings 4.2; CRT has no Netty in it).
 *
 * <p>Every SDK call is brought back onto the Vert.x context of its caller, captured when the method is
 * called; SDK futures are completed on CRT threads directly (no extra executor hop), which only schedules
 * the continuation there.
 */
public final class S3BlobStore implements BlobStore {

  private static final String DEFAULT_REGION = "us-east-1";

  private final Vertx vertx;
  private final S3AsyncClient s3;
  private final S3Config config;
  private final S3Presigner presigner;
  /** Object data (PUT, UploadPart, GET) goes over Vert.x; the SDK client keeps the control calls. */
  private final S3Http http;
  /** Every call but a streamed object read is bounded by the configured call and attempt timeouts. */
  private final Consumer<AwsRequestOverrideConfiguration.Builder> timeouts;

  private S3BlobStore(Vertx vertx, S3AsyncClient s3, S3Presigner presigner, S3Http http, S3Config config) {
    this.vertx = vertx;
    this.s3 = s3;
    this.http = http;
    this.presigner = presigner;
    this.config = config;
    this.timeouts = o -> o.apiCallTimeout(config.callTimeout()).apiCallAttemptTimeout(config.attemptTimeout());
  }

  /**
   * A store on {@code config.bucket()}. Building the client does not touch the network; call
   * {@link #ensureBucket()} or {@link #ping()} to check the settings.
   */
  public static S3BlobStore create(Vertx vertx, S3Config config) {
    String region = config.region() == null || config.region().isBlank() ? DEFAULT_REGION : config.region();
    AwsCredentialsProvider credentials = credentials(config);
    S3AsyncClientBuilder builder = S3AsyncClient.builder()
        .httpClientBuilder(AwsCrtAsyncHttpClient.builder()
            // What CRT buffers per download ahead of the reader (16 MiB by default): about one part.
            .readBufferSizeInBytes((long) config.partSize())
            .connectionTimeout(Duration.ofSeconds(5))
            .connectionMaxIdleTime(Duration.ofSeconds(30)))
        .region(Region.of(region))
        .credentialsProvider(credentials)
        .forcePathStyle(config.pathStyle())
        // Newer SDKs send CRC32 checksums (aws-chunked trailers) on every upload by default; S3-compatible
        // servers (s3proxy, older MinIO) do not all accept them. The SHA-256 Wharf computes is its check.
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .asyncConfiguration(async -> async.advancedOption(
            SdkAdvancedAsyncClientOption.FUTURE_COMPLETION_EXECUTOR, Runnable::run));
    if (config.endpoint() != null) {
      builder.endpointOverride(config.endpoint());
    }
    S3Presigner.Builder presigner = S3Presigner.builder()
        .region(Region.of(region))
        .credentialsProvider(credentials)
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(config.pathStyle()).build());
    if (config.endpoint() != null) {
      presigner.endpointOverride(config.endpoint());
    }
    return new S3BlobStore(vertx, builder.build(), presigner.build(), S3Http.create(vertx, config, credentials, region), config);
  }

  private static AwsCredentialsProvider credentials(S3Config config) {
    if (config.accessKey() == null || config.accessKey().isBlank()) {
      return DefaultCredentialsProvider.builder().build();
    }
    return StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKey(), config.secretKey()));
  }

  @Override
  public Future<StoredBlob> put(String key, ReadStream<Buffer> body, long maxBytes, String contentType,
      Function<String, Future<Void>> onMultipart) {
    return put(key, body, null, maxBytes, contentType, onMultipart);
  }

  /**
   * A body whose declared length is larger than a part and at most {@code s3.streamed-put-max} is streamed
   * as one PUT ({@link S3StreamPut}) while a streamed-PUT connection is free; any other body goes through
   * {@link S3Upload} (one PUT from memory when it ends within a part, else a multipart upload).
   */
  @Override
  public Future<StoredBlob> put(String key, ReadStream<Buffer> body, Long declaredLength, long maxBytes, String contentType,
      Function<String, Future<Void>> onMultipart) {
    Context context = vertx.getOrCreateContext();
    Supplier<Future<StoredBlob>> upload;
    if (declaredLength != null && declaredLength > config.partSize() && declaredLength <= Math.min(maxBytes, config.streamedPutMax())
        && http.tryStream()) {
      upload = () -> new S3StreamPut(vertx, http, key, Map.of(), contentType, body, declaredLength, config.attemptTimeout().toMillis())
          .start().map(put -> new StoredBlob(key, put.size(), put.sha256()));
    } else {
      upload = () -> new S3Upload(s3, http, context, config.bucket(), key, contentType, body, maxBytes,
          config.partSize(), config.partsInFlight(), onMultipart, timeouts).start();
    }
    return onContext(context, upload);
  }

  /** Runs {@code work} on {@code context} (at once when already there): a streamed body's handlers belong to it. */
  private static <T> Future<T> onContext(Context context, Supplier<Future<T>> work) {
    if (Vertx.currentContext() == context) {
      return work.get();
    }
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> work.get().onComplete(done));
    return done.future();
  }

  @Override
  public Future<Void> putBytes(String key, byte[] bytes, int length) {
    return http.put(key, Map.of(), null, bytes, length)
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<String> createMultipart(String key, String contentType) {
    return call(vertx.getOrCreateContext(), () -> s3.createMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key).contentType(contentType)))
        .map(CreateMultipartUploadResponse::uploadId)
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<String> uploadPart(String key, String uploadId, int partNumber, byte[] bytes, int length) {
    return http.put(key, S3Http.partQuery(uploadId, partNumber), null, bytes, length)
        .recover(e -> Future.failedFuture(S3Failures.forUpload(e)));
  }

  /**
   * Streams the part as one UploadPart on a streamed-PUT connection: 503 {@code overloaded} when none is free,
   * and nothing is retried once bytes flow (S3 keeps no part whose PUT did not finish; the device sends again).
   */
  @Override
  public Future<StoredPart> putPart(String key, String uploadId, int partNumber, ReadStream<Buffer> body, long length) {
    if (!http.tryStream()) {
      body.pause();
      return Future.failedFuture(ServerException.overloaded("every connection to storage for streamed bodies is busy"));
    }
    Context context = vertx.getOrCreateContext();
    Supplier<Future<StoredPart>> upload = () -> new S3StreamPut(vertx, http, key, S3Http.partQuery(uploadId, partNumber), null, body, length,
        config.attemptTimeout().toMillis()).start()
        .map(put -> new StoredPart(new PartInfo(partNumber, put.size(), put.etag()), put.sha256()));
    return onContext(context, upload);
  }

  @Override
  public Future<List<PartInfo>> listParts(String key, String uploadId) {
    Context context = vertx.getOrCreateContext();
    List<PartInfo> parts = new ArrayList<>();
    return listParts(context, key, uploadId, null, parts).map(v -> {
      parts.sort(Comparator.comparingInt(PartInfo::number));
      return parts;
    });
  }

  private Future<Void> listParts(Context context, String key, String uploadId, Integer marker, List<PartInfo> into) {
    return call(context, () -> s3.listParts(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key).uploadId(uploadId).partNumberMarker(marker)))
        .recover(e -> Future.failedFuture(S3Failures.forListing(e)))
        .compose(page -> {
          page.parts().forEach(p -> into.add(new PartInfo(p.partNumber(), p.size(), p.eTag())));
          return Boolean.TRUE.equals(page.isTruncated()) && page.nextPartNumberMarker() != null
              ? listParts(context, key, uploadId, page.nextPartNumberMarker(), into)
              : Future.succeededFuture();
        });
  }

  @Override
  public Future<Void> completeMultipart(String key, String uploadId, List<PartInfo> parts) {
    List<CompletedPart> completed = parts.stream()
        .map(p -> CompletedPart.builder().partNumber(p.number()).eTag(p.etag()).build())
        .toList();
    return call(vertx.getOrCreateContext(), () -> s3.completeMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key).uploadId(uploadId)
            .multipartUpload(m -> m.parts(completed))))
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(S3Failures.forUpload(e)));
  }

  @Override
  public Future<Void> abortMultipart(String key, String uploadId) {
    return call(vertx.getOrCreateContext(), () -> s3.abortMultipartUpload(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key).uploadId(uploadId)))
        .<Void>mapEmpty()
        .recover(e -> S3Failures.statusOf(e) == 404 || S3Failures.unwrap(e) instanceof NoSuchUploadException
            ? Future.succeededFuture()
            : Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<List<OpenMultipart>> openMultiparts(String prefix, int limit) {
    // Not every S3-compatible server takes max-uploads (s3proxy answers 501), so the page is cut here.
    return call(vertx.getOrCreateContext(), () -> s3.listMultipartUploads(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).prefix(prefix)))
        .map(page -> page.uploads().stream()
            .limit(limit)
            .map(u -> new OpenMultipart(u.key(), u.uploadId(), u.initiated() == null ? Instant.EPOCH : u.initiated()))
            .toList())
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<String> presignPart(String key, String uploadId, int partNumber, Duration ttl) {
    // Presigning is local (an HMAC), but a credentials provider other than static keys may block to fetch them.
    return vertx.executeBlocking(() -> presigner.presignUploadPart(UploadPartPresignRequest.builder()
            .signatureDuration(ttl)
            .uploadPartRequest(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId).partNumber(partNumber))
            .build()).url().toString(), false)
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<BlobInfo> head(String key) {
    return call(vertx.getOrCreateContext(), () -> s3.headObject(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key)))
        .map(response -> new BlobInfo(key, response.contentLength(), unquote(response.eTag())))
        .recover(e -> Future.failedFuture(S3Failures.forObject(e)));
  }

  @Override
  public Future<ReadStream<Buffer>> open(String key, ByteRange range) {
    return http.open(key, range)
        .recover(e -> Future.failedFuture(S3Failures.forObject(e)));
  }

  @Override
  public Future<Buffer> read(String key, long offset, int length) {
    if (length <= 0) {
      return Future.succeededFuture(Buffer.buffer());
    }
    ByteRange range = new ByteRange(offset, offset + length - 1);
    return http.get(key, range)
        .recover(e -> Future.failedFuture(S3Failures.forObject(e)));
  }

  @Override
  public Future<Void> delete(String key) {
    return call(vertx.getOrCreateContext(), () -> s3.deleteObject(b -> b.overrideConfiguration(timeouts).bucket(config.bucket()).key(key)))
        .<Void>mapEmpty()
        .recover(e -> S3Failures.statusOf(e) == 404
            ? Future.succeededFuture()
            : Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<Void> ping() {
    return call(vertx.getOrCreateContext(), () -> s3.headBucket(b -> b.overrideConfiguration(timeouts).bucket(config.bucket())))
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  @Override
  public Future<Void> ensureBucket() {
    Context context = vertx.getOrCreateContext();
    return call(context, () -> s3.headBucket(b -> b.overrideConfiguration(timeouts).bucket(config.bucket())))
        .<Void>mapEmpty()
        .recover(missing -> S3Failures.statusOf(missing) != 404
            ? Future.failedFuture(missing)
            : call(context, () -> s3.createBucket(b -> b.overrideConfiguration(timeouts).bucket(config.bucket())))
                .<Void>mapEmpty()
                .recover(e -> S3Failures.unwrap(e) instanceof BucketAlreadyOwnedByYouException
                    ? Future.succeededFuture()
                    : Future.failedFuture(e)))
        .recover(e -> Future.failedFuture(S3Failures.unavailable(e)));
  }

  /**
   * Closes the Vert.x client and the SDK client with their connections; closing the SDK client waits for
   * CRT threads, so it runs off the event loop.
   */
  public Future<Void> close() {
    return Future.join(http.close(), vertx.executeBlocking(() -> {
      s3.close();
      presigner.close();
      return null;
    }, false)).mapEmpty();
  }

  /** The SDK client, for tests that check what is left in the bucket. */
  S3AsyncClient client() {
    return s3;
  }

  /**
   * Sends one request and completes on {@code context}. A request the SDK rejects before sending (it may
   * throw instead of returning a failed future) fails the same way.
   */
  static <T> Future<T> call(Context context, Supplier<CompletableFuture<T>> request) {
    CompletableFuture<T> sent;
    try {
      sent = request.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return Future.fromCompletionStage(sent, context);
  }

  private static String header(ByteRange range) {
    return "bytes=" + range.start() + "-" + range.endInclusive();
  }

  private static String unquote(String etag) {
    if (etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")) {
      return etag.substring(1, etag.length() - 1);
    }
    return etag;
  }
}
