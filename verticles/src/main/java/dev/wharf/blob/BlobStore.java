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
  Future<StoredBlob> put(String key, ReadStream<Buffer> body, long maxBytes, String contentType);

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
