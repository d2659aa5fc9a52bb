package dev.wharf.ingest.validate;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

/**
 * Where a ZIP archive's central directory lies, read from the end of central directory record at the tail
 * of the archive and, when that record's fields are saturated, from the ZIP64 end record it points to.
 *
 * @param entries how many entries the directory declares
 * @param directoryOffset where the central directory starts
 * @param directorySize how many bytes it spans
 * @param directoryLimit where the directory must end at the latest: the first end record
 */
record ZipEnd(long entries, long directoryOffset, long directorySize, long directoryLimit) {

  static final String NO_END = "no end of central directory record: not a complete ZIP archive";

  private static final int END_SIGNATURE = 0x06054b50;
  private static final int END_LENGTH = 22;
  private static final int MAX_COMMENT = 0xffff;
  private static final int ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
  private static final int ZIP64_LOCATOR_LENGTH = 20;
  private static final int ZIP64_END_SIGNATURE = 0x06064b50;
  private static final int ZIP64_END_LENGTH = 56;

  /** Finds the end records of an archive of {@code size} bytes; fails with {@link BrokenArchive} if it has none. */
  static Future<ZipEnd> locate(RangeReader ranges, long size) {
    if (size < END_LENGTH) {
      return Future.failedFuture(new BrokenArchive(NO_END));
    }
    int tailLength = (int) Math.min(size, END_LENGTH + MAX_COMMENT);
    long tailStart = size - tailLength;
    return ranges.read(tailStart, tailLength).compose(tail -> {
      int at = findEnd(tail);
      if (at < 0) {
        throw new BrokenArchive(NO_END);
      }
      long endOffset = tailStart + at;
      int disk = tail.getUnsignedShortLE(at + 4);
      int directoryDisk = tail.getUnsignedShortLE(at + 6);
      int entriesOnDisk = tail.getUnsignedShortLE(at + 8);
      int entries = tail.getUnsignedShortLE(at + 10);
      long directorySize = tail.getUnsignedIntLE(at + 12);
      long directoryOffset = tail.getUnsignedIntLE(at + 16);
      boolean zip64 = disk == 0xffff || directoryDisk == 0xffff || entriesOnDisk == 0xffff || entries == 0xffff
          || directorySize == 0xffffffffL || directoryOffset == 0xffffffffL;
      if (zip64) {
        return locateZip64(ranges, endOffset);
      }
      requireSingleDisk(disk, directoryDisk, entriesOnDisk, entries);
      return Future.succeededFuture(new ZipEnd(entries, directoryOffset, directorySize, endOffset));
    });
  }

  private static Future<ZipEnd> locateZip64(RangeReader ranges, long endOffset) {
    if (endOffset < ZIP64_LOCATOR_LENGTH) {
      return Future.failedFuture(new BrokenArchive("ZIP64 end of central directory locator missing"));
    }
    long locatorOffset = endOffset - ZIP64_LOCATOR_LENGTH;
    return ranges.read(locatorOffset, ZIP64_LOCATOR_LENGTH).compose(locator -> {
      if (locator.getIntLE(0) != ZIP64_LOCATOR_SIGNATURE) {
        throw new BrokenArchive("ZIP64 end of central directory locator missing");
      }
      long recordOffset = locator.getLongLE(8);
      if (recordOffset < 0 || recordOffset > locatorOffset - ZIP64_END_LENGTH) {
        throw new BrokenArchive("ZIP64 end of central directory record lies outside the archive");
      }
      return ranges.read(recordOffset, ZIP64_END_LENGTH).map(record -> {
        if (record.getIntLE(0) != ZIP64_END_SIGNATURE) {
          throw new BrokenArchive("ZIP64 end of central directory record missing");
        }
        long disk = record.getUnsignedIntLE(16);
        long directoryDisk = record.getUnsignedIntLE(20);
        long entriesOnDisk = record.getLongLE(24);
        long entries = record.getLongLE(32);
        long directorySize = record.getLongLE(40);
        long directoryOffset = record.getLongLE(48);
        requireSingleDisk(disk, directoryDisk, entriesOnDisk, entries);
        if (entries < 0 || directorySize < 0 || directoryOffset < 0) {
          throw new BrokenArchive("ZIP64 end of central directory record is corrupt");
        }
        return new ZipEnd(entries, directoryOffset, directorySize, recordOffset);
      });
    });
  }

  /** The offset in {@code tail} of an end record whose comment ends exactly where the tail does, or -1. */
  private static int findEnd(Buffer tail) {
    for (int at = tail.length() - END_LENGTH; at >= 0; at--) {
      if (tail.getIntLE(at) == END_SIGNATURE && at + END_LENGTH + tail.getUnsignedShortLE(at + 20) == tail.length()) {
        return at;
      }
    }
    return -1;
  }

  private static void requireSingleDisk(long disk, long directoryDisk, long entriesOnDisk, long entries) {
    if (disk != 0 || directoryDisk != 0 || entriesOnDisk != entries) {
      throw new BrokenArchive("split (multi-part) ZIP archives are not supported");
    }
  }
}
