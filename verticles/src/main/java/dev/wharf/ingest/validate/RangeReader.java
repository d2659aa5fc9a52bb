package dev.wharf.ingest.validate;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/** Small ranged reads of the object being checked (backed by S3 ranged GETs). */
@FunctionalInterface
public interface RangeReader {

  /** Reads {@code length} bytes at {@code offset}; the range must lie within the object. */
  Future<Buffer> read(long offset, int length);
}
