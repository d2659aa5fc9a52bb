package dev.wharf.ingest.validate;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/**
 * A check of one file in progress. {@link #update} sees every byte of the object once, in order, in
 * chunks of any size; it must keep bounded state (no whole-file buffering). {@link #finish} is called once
 * after the last chunk; it may read small ranges (footers, directories) through {@code ranges}.
 *
 * <p>A check that knows early the content is invalid may remember that and report it from finish.
 */
public interface Check {

  void update(Buffer chunk);

  Future<Findings> finish(RangeReader ranges);
}
