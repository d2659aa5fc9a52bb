package dev.wharf.blob;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * Object storage as Wharf uses it: streamed writes with the SHA-256 computed on the way, streamed reads
 * (whole or a range), small ranged reads for validators, deletes. Every method is non-blocking; memory
 * per transfer is bounded by a few parts whatever the object size.
 */
public interface BlobStore {

  /**
   * Streams {@code body} into {@code key}. The body is paused and resumed for backpressure; large bodies
   * go up as an S3 multipart upload. Fails with a 413 {@link dev.wharf.error.ClientException} as soon as
   * more than {@code maxBytes} arrive, with a 503 {@link dev.wharf.error.ServerException} when storage is
   * down, and in both cases leaves nothing stored under {@code key} (a started multipart is aborted).
   */
  default Future<StoredBlob> put(String key, ReadStream<Buffer> body, long maxBytes, String contentType) {
    return put(key, body, maxBytes, contentType, uploadId -> Future.succeededFuture());
  }

  /**
   * As {@link #put(String, ReadStream, long, String)}; when the body turns out to need a multipart upload,
   * {@code onMultipart} is called with its upload id before the first part is sent, and no part is sent
   * until its future succeeds (so the caller can record the id where a sweeper will find it).
   */
  Future<StoredBlob> put(String key, ReadStream<Buffer> body, long maxBytes, String contentType,
      java.util.function.Function<String, Future<Void>> onMultipart);

  /**
   * As {@link #put(String, ReadStream, long, String, java.util.function.Function)} for a body that declared
   * its length ({@code null}: unknown, e.g. chunked); a store may use it to stream the body as one PUT
   * instead of buffering parts. A body that ends short of or past its declared length fails with a 400.
   */
  default Future<StoredBlob> put(String key, ReadStream<Buffer> body, Long declaredLength, long maxBytes, String contentType,
      java.util.function.Function<String, Future<Void>> onMultipart) {
    return put(key, body, maxBytes, contentType, onMultipart);
  }

  /** Stores {@code length} bytes of {@code bytes} as one object (small objects only: they are in memory). */
  Future<Void> putBytes(String key, byte[] bytes, int length);

  /** Starts a multipart upload of {@code key}; answers its upload id. */
  Future<String> createMultipart(String key, String contentType);

  /** Uploads one part of a multipart upload from memory; answers its ETag (as S3 sent it). */
  Future<String> uploadPart(String key, String uploadId, int partNumber, byte[] bytes, int length);

  /**
   * Streams exactly {@code length} bytes of {@code body} into part {@code partNumber} of a multipart upload, hashing
   * them on the way; nothing of the part stays in storage unless every byte arrived. Answers the part and its SHA-256.
   */
  Future<StoredPart> putPart(String key, String uploadId, int partNumber, ReadStream<Buffer> body, long length);

  /** The parts storage holds for a multipart upload, in part-number order. */
  Future<java.util.List<PartInfo>> listParts(String key, String uploadId);

  /** Completes a multipart upload from {@code parts} (number and ETag, in order). */
  Future<Void> completeMultipart(String key, String uploadId, java.util.List<PartInfo> parts);

  /** Aborts a multipart upload; an upload that is already gone counts as aborted. */
  Future<Void> abortMultipart(String key, String uploadId);

  /** Multipart uploads open under {@code prefix}, at most {@code limit}. */
  Future<java.util.List<OpenMultipart>> openMultiparts(String prefix, int limit);

  /**
   * A URL that lets its holder upload part {@code partNumber} of a multipart upload with one HTTP PUT until
   * {@code ttl} passes, without any other credential. The URL is a secret: never log it.
   */
  Future<String> presignPart(String key, String uploadId, int partNumber, java.time.Duration ttl);

  /** Size and ETag of a stored object; 404 {@code not_found} when absent. */
  Future<BlobInfo> head(String key);

  /**
   * Opens a read of the object, or of {@code range} of it when not null. The future completes once
   * storage answered; the returned stream then delivers the bytes with backpressure (it starts paused
   * until a handler is set, as {@link ReadStream#pipeTo} expects).
   */
  Future<ReadStream<Buffer>> open(String key, ByteRange range);

  /** Reads {@code length} bytes from {@code offset} into memory; for small reads only (footers, indexes). */
  Future<Buffer> read(String key, long offset, int length);

  /** Deletes the object; deleting an absent one succeeds. */
  Future<Void> delete(String key);

  /** Succeeds when the bucket is reachable; used by readiness checks. */
  Future<Void> ping();

  /** Creates the bucket if it does not exist. */
  Future<Void> ensureBucket();
}
