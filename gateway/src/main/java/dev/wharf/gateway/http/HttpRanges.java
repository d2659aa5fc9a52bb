package dev.wharf.gateway.http;

import dev.wharf.blob.ByteRange;
import dev.wharf.error.ClientException;

/** Parsing of a single-range {@code Range} header against an object of known size. */
final class HttpRanges {

  private HttpRanges() {}

  /**
   * The range asked for, or null for the whole object (no header, a multi-range or foreign unit, which
   * servers may ignore, or an If-Range that no longer matches). 416 {@code range_not_satisfiable} when the
   * range lies outside the object.
   */
  static ByteRange parse(String header, long size, String ifRange, String etag) {
    if (header == null || !header.startsWith("bytes=") || header.contains(",")) {
      return null;
    }
    if (ifRange != null && !ifRange.equals(etag)) {
      return null;
    }
    String spec = header.substring(6).trim();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      throw unsatisfiable(size);
    }
    try {
      String first = spec.substring(0, dash).trim();
      String last = spec.substring(dash + 1).trim();
      if (first.isEmpty()) {
        long suffix = Long.parseLong(last);
        if (suffix <= 0 || size == 0) {
          throw unsatisfiable(size);
        }
        return new ByteRange(Math.max(0, size - suffix), size - 1);
      }
      long start = Long.parseLong(first);
      long end = last.isEmpty() ? size - 1 : Math.min(Long.parseLong(last), size - 1);
      if (start >= size || end < start) {
        throw unsatisfiable(size);
      }
      return new ByteRange(start, end);
    } catch (NumberFormatException e) {
      throw unsatisfiable(size);
    }
  }

  private static ClientException unsatisfiable(long size) {
    return new ClientException(416, "range_not_satisfiable", "the range lies outside the " + size + " byte object");
  }
}
