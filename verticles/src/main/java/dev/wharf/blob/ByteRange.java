package dev.wharf.blob;

/** An inclusive byte range, as in HTTP {@code Range: bytes=start-end}. */
public record ByteRange(long start, long endInclusive) {

  public ByteRange {
    if (start < 0 || endInclusive < start) {
      throw new IllegalArgumentException("bad range " + start + "-" + endInclusive);
    }
  }

  public long length() {
    return endInclusive - start + 1;
  }
}
