package dev.wharf.blob;

import dev.wharf.config.S3Config;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * S3's data requests (PutObject, UploadPart, GetObject) sent by a Vert.x {@code HttpClient} and signed with
 * SigV4 by {@link SigV4} (the SDK's signer cost about a tenth of a tiny upload's CPU), so the bytes of an
 * object move on the caller's event loop with Vert.x's own backpressure instead of through the SDK's
 * request pipeline and the CRT threads. Bodies are sent with {@code UNSIGNED-PAYLOAD} (Wharf hashes every
 * upload itself; over HTTPS TLS protects them) and a Content-Length.
 *
 * <p>Bounded like the SDK's calls: each attempt by {@code s3.attempt-timeout} (connecting, waiting for a
 * pooled connection, sending, and reading the answer; for a streamed read, until the headers arrive), each
 * call with its retries by {@code s3.call-timeout}. A connection failure, a reset, a timeout, a 5xx or
 * {@code SlowDown} is tried again, at most {@link #MAX_ATTEMPTS} times in all; an S3 error answer fails with
 * an {@link S3ErrorResponse} carrying S3's code and message. A streamed read then has an idle timeout of
 * {@code s3.attempt-timeout} while its reader wants bytes (see {@link S3ObjectStream}).
 */
final class S3Http {

  /** As the SDK's standard retry mode: the first attempt and two retries. */
  static final int MAX_ATTEMPTS = 3;

  private final Vertx vertx;
  private final HttpClientAgent client;
  /** Streamed PUTs hold their connection for a whole body: a pool of their own, so they never starve parts and GETs. */
  private final HttpClientAgent streamClient;
  private final int maxStreams;
  private final java.util.concurrent.atomic.AtomicInteger streamsOpen = new java.util.concurrent.atomic.AtomicInteger();
  private final SigV4 signer;
  private final AwsCredentialsProvider credentials;
  private final String bucket;
  private final boolean pathStyle;
  private final boolean ssl;
  private final String host;
  private final int port;
  /** The Host header as signed: the port only when it is not the scheme's default. */
  private final String hostHeader;
  private final long callTimeoutMillis;
  private final long attemptTimeoutMillis;
  /** Credentials as last resolved; refreshed off the event loop when they near their expiry. */
  private volatile AwsCredentialsIdentity identity;

  private S3Http(Vertx vertx, S3Config config, AwsCredentialsProvider credentials, String region) {
    this.vertx = vertx;
    this.credentials = credentials;
    this.bucket = config.bucket();
    this.pathStyle = config.pathStyle();
    URI endpoint = config.endpoint() != null ? config.endpoint() : URI.create("https://s3." + region + ".amazonaws.com");
    this.ssl = "https".equalsIgnoreCase(endpoint.getScheme());
    this.host = pathStyle ? endpoint.getHost() : bucket + "." + endpoint.getHost();
    this.port = endpoint.getPort() > 0 ? endpoint.getPort() : ssl ? 443 : 80;
    this.hostHeader = SigV4.hostHeader(host, port, ssl);
    this.signer = new SigV4(region, Clock.systemUTC());
    this.callTimeoutMillis = config.callTimeout().toMillis();
    this.attemptTimeoutMillis = config.attemptTimeout().toMillis();
    HttpClientOptions options = new HttpClientOptions()
        .setSsl(ssl)
        .setKeepAlive(true)
        .setKeepAliveTimeout(30)
        .setConnectTimeout((int) Math.min(5_000, attemptTimeoutMillis))
        .setTcpNoDelay(true);
    this.client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(config.maxConnections()));
    this.maxStreams = config.maxConnections();
    this.streamClient = vertx.createHttpClient(new HttpClientOptions(options), new PoolOptions().setHttp1MaxSize(maxStreams));
  }

  static S3Http create(Vertx vertx, S3Config config, AwsCredentialsProvider credentials, String region) {
    return new S3Http(vertx, config, credentials, region);
  }

  /**
   * {@code PUT} of {@code length} bytes of {@code bytes} to {@code key} (with {@code query}: an UploadPart);
   * answers the ETag as S3 sent it. The array is not copied; it must not change until the future completes.
   */
  Future<String> put(String key, Map<String, String> query, String contentType, byte[] bytes, int length) {
    return call(timeout -> exchange(HttpMethod.PUT, key, query, contentType, null, bytes, length,
        response -> response.body().map(ignored -> response.getHeader("ETag")), timeout));
  }

  /** {@code GET} of {@code range} of {@code key} into memory (small reads only). */
  Future<Buffer> get(String key, ByteRange range) {
    return call(timeout -> exchange(HttpMethod.GET, key, Map.of(), null, range, null, 0, HttpClientResponse::body, timeout));
  }

  /**
   * {@code GET} of {@code key} (or {@code range} of it) as a stream; the future completes once S3 answered
   * with its headers. Only the opening is retried: once bytes flow, a failure ends the stream.
   */
  Future<ReadStream<Buffer>> open(String key, ByteRange range) {
    return call(timeout -> exchange(HttpMethod.GET, key, Map.of(), null, range, null, 0, response -> {
          response.pause();
          return Future.succeededFuture(response);
        }, timeout))
        .map(response -> new S3ObjectStream(vertx, response, attemptTimeoutMillis));
  }

  /**
   * Takes one of the streamed-PUT connections, if one is free; the caller must {@link #releaseStream()} it
   * once its PUT ended, whatever the outcome. When none is free the caller falls back to a multipart upload.
   */
  boolean tryStream() {
    if (streamsOpen.incrementAndGet() > maxStreams) {
      streamsOpen.decrementAndGet();
      return false;
    }
    return true;
  }

  void releaseStream() {
    streamsOpen.decrementAndGet();
  }

  /**
   * A signed {@code PUT} of exactly {@code length} bytes to {@code key} (with {@code query}: an UploadPart),
   * connected and ready for its body,
   * which the caller writes (see {@link S3StreamPut}). Connecting is retried as any call; nothing is retried
   * once the body flows. Use only within {@link #tryStream()}.
   */
  Future<HttpClientRequest> openPut(String key, Map<String, String> query, String contentType, long length) {
    return call(timeout -> identity().compose(creds -> streamClient.request(
            sign(creds, HttpMethod.PUT, key, query, contentType, null).setConnectTimeout(timeout)))
        .map(request -> request.putHeader("Content-Length", Long.toString(length))));
  }

  Future<Void> close() {
    return Future.join(client.close(), streamClient.close()).mapEmpty();
  }

  /** Runs attempts until one succeeds, the failure is final, {@link #MAX_ATTEMPTS} were made or the call timed out. */
  private <T> Future<T> call(AttemptFactory<T> attempt) {
    Promise<T> result = Promise.promise();
    attempt(attempt, 1, System.nanoTime() + callTimeoutMillis * 1_000_000L, result);
    return result.future();
  }

  private <T> void attempt(AttemptFactory<T> attempt, int number, long deadline, Promise<T> result) {
    long left = (deadline - System.nanoTime()) / 1_000_000L;
    attempt.start(Math.max(1, Math.min(attemptTimeoutMillis, left))).onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
        return;
      }
      long backoff = 50L << number;
      long remaining = (deadline - System.nanoTime()) / 1_000_000L;
      if (number < MAX_ATTEMPTS && retryable(ar.cause()) && remaining > backoff + 100) {
        vertx.setTimer(backoff, t -> attempt(attempt, number + 1, deadline, result));
      } else {
        result.fail(ar.cause());
      }
    });
  }

  private static boolean retryable(Throwable failure) {
    return !(failure instanceof S3ErrorResponse error) || error.retryable();
  }

  /** One attempt: sign, send, and hand a 2xx answer to {@code onSuccess}, all within {@code timeoutMillis}. */
  private <T> Future<T> exchange(HttpMethod method, String key, Map<String, String> query, String contentType, ByteRange range,
      byte[] bytes, int length, Function<HttpClientResponse, Future<T>> onSuccess, long timeoutMillis) {
    Promise<T> result = Promise.promise();
    HttpClientRequest[] sent = new HttpClientRequest[1];
    long timer = vertx.setTimer(timeoutMillis, t -> {
      if (result.tryFail(new TimeoutException("S3 " + method + " took longer than " + timeoutMillis + " ms"))
          && sent[0] != null) {
        sent[0].reset();
      }
    });
    identity()
        .compose(creds -> {
          RequestOptions options = sign(creds, method, key, query, contentType, range).setConnectTimeout(timeoutMillis);
          return client.request(options);
        })
        .compose(request -> {
          sent[0] = request;
          if (result.future().isComplete()) {
            request.reset();
            return Future.failedFuture("timed out");
          }
          return bytes == null ? request.send() : request.send(BufferInternal.buffer(Unpooled.wrappedBuffer(bytes, 0, length)));
        })
        .compose(response -> {
          int status = response.statusCode();
          if (status / 100 == 2) {
            return onSuccess.apply(response);
          }
          return response.body().transform(body -> Future.failedFuture(S3ErrorResponse.of(method.name(), status,
              body.succeeded() ? body.result().toString() : null)));
        })
        .onComplete(ar -> {
          vertx.cancelTimer(timer);
          if (ar.succeeded()) {
            if (!result.tryComplete(ar.result()) && ar.result() instanceof HttpClientResponse late) {
              late.request().reset();
            }
          } else {
            result.tryFail(ar.cause());
          }
        });
    return result.future();
  }

  private RequestOptions sign(AwsCredentialsIdentity creds, HttpMethod method, String key, Map<String, String> query,
      String contentType, ByteRange range) {
    String path = (pathStyle ? "/" + bucket + "/" : "/") + SdkHttpUtils.urlEncodeIgnoreSlashes(key);
    StringBuilder uri = new StringBuilder(path);
    char separator = '?';
    for (Map.Entry<String, String> param : new java.util.TreeMap<>(query).entrySet()) {
      uri.append(separator).append(SdkHttpUtils.urlEncode(param.getKey())).append('=').append(SdkHttpUtils.urlEncode(param.getValue()));
      separator = '&';
    }
    Map<String, String> headers = new LinkedHashMap<>(4);
    if (contentType != null) {
      headers.put("Content-Type", contentType);
    }
    if (range != null) {
      headers.put("Range", "bytes=" + range.start() + "-" + range.endInclusive());
    }
    Map<String, String> signed = signer.sign(creds, method.name(), hostHeader, path, query, headers);
    RequestOptions options = new RequestOptions()
        .setMethod(method)
        .setHost(host)
        .setPort(port)
        .setSsl(ssl)
        .setURI(uri.toString());
    for (Map.Entry<String, String> header : signed.entrySet()) {
      options.addHeader(header.getKey(), header.getValue());
    }
    return options;
  }

  /**
   * The credentials to sign with. Static keys never expire and are resolved once; others are resolved
   * again, on a worker thread (a provider may block on the network), when they are within a minute of
   * their expiry.
   */
  private Future<AwsCredentialsIdentity> identity() {
    AwsCredentialsIdentity current = identity;
    if (current != null && current.expirationTime().map(t -> t.isAfter(Instant.now().plus(Duration.ofMinutes(1)))).orElse(true)) {
      return Future.succeededFuture(current);
    }
    return vertx.executeBlocking(() -> {
      AwsCredentialsIdentity fresh = credentials.resolveIdentity().join();
      identity = fresh;
      return fresh;
    }, false);
  }

  /** Starts one attempt bounded by the given time. */
  @FunctionalInterface
  private interface AttemptFactory<T> {
    Future<T> start(long timeoutMillis);
  }

  /** Query parameters of an UploadPart. */
  static Map<String, String> partQuery(String uploadId, int partNumber) {
    Map<String, String> query = new LinkedHashMap<>();
    query.put("partNumber", Integer.toString(partNumber));
    query.put("uploadId", uploadId);
    return query;
  }
}
