package dev.wharf.ingest.validate;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * Walks a ZIP central directory entry by entry and holds it to the {@link ValidationLimits}: safe entry
 * names, the entry count, the total expanded size and the compression ratio, overall and per entry. Sizes
 * come from the directory, with ZIP64 extra fields where the 32-bit fields are saturated; nothing is
 * decompressed.
 */
final class ZipDirectory {

  private static final int ENTRY_SIGNATURE = 0x02014b50;
  private static final int ENTRY_LENGTH = 46;
  private static final int ZIP64_EXTRA = 0x0001;
  private static final int UTF8_NAMES = 1 << 11;
  private static final long SATURATED = 0xffffffffL;

  private final ValidationLimits limits;
  private long entries;
  private long uncompressed;
  private long compressed;

  ZipDirectory(ValidationLimits limits) {
    this.limits = limits;
  }

  /**
   * Checks every entry of {@code directory}, the central directory of an archive whose entry data ends at
   * {@code end.directoryOffset()}.
   *
   * @throws BrokenArchive naming the first problem found
   */
  void check(Buffer directory, ZipEnd end) {
    int at = 0;
    while (entries < end.entries()) {
      at = checkEntry(directory, at, end.directoryOffset());
      entries++;
    }
    if (compressed > end.directoryOffset()) {
      throw new BrokenArchive("the entries claim " + compressed + " compressed bytes but the archive holds "
          + end.directoryOffset() + ": they overlap, as in a zip bomb");
    }
    if (tooDense(uncompressed, compressed)) {
      throw new BrokenArchive("the archive " + expansion(uncompressed, compressed));
    }
  }

  long entries() {
    return entries;
  }

  long uncompressed() {
    return uncompressed;
  }

  private int checkEntry(Buffer directory, int at, long dataEnd) {
    long number = entries + 1;
    if (at + ENTRY_LENGTH > directory.length()) {
      throw new BrokenArchive("central directory entry " + number + " is truncated");
    }
    if (directory.getIntLE(at) != ENTRY_SIGNATURE) {
      throw new BrokenArchive("central directory entry " + number + " is corrupt: no entry signature");
    }
    int flags = directory.getUnsignedShortLE(at + 8);
    long packed = directory.getUnsignedIntLE(at + 20);
    long expanded = directory.getUnsignedIntLE(at + 24);
    int nameLength = directory.getUnsignedShortLE(at + 28);
    int extraLength = directory.getUnsignedShortLE(at + 30);
    int commentLength = directory.getUnsignedShortLE(at + 32);
    long localOffset = directory.getUnsignedIntLE(at + 42);
    int next = at + ENTRY_LENGTH + nameLength + extraLength + commentLength;
    if (next > directory.length()) {
      throw new BrokenArchive("central directory entry " + number + " is truncated");
    }
    Charset charset = (flags & UTF8_NAMES) != 0 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
    String name = directory.getString(at + ENTRY_LENGTH, at + ENTRY_LENGTH + nameLength, charset.name());
    checkName(name);

    int extra = at + ENTRY_LENGTH + nameLength;
    int extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      int id = directory.getUnsignedShortLE(extra);
      int length = directory.getUnsignedShortLE(extra + 2);
      int field = extra + 4;
      if (field + length > extraEnd) {
        throw new BrokenArchive("entry " + quote(name) + " has a truncated extra field");
      }
      if (id == ZIP64_EXTRA) {
        int fieldEnd = field + length;
        if (expanded == SATURATED && field + 8 <= fieldEnd) {
          expanded = directory.getLongLE(field);
          field += 8;
        }
        if (packed == SATURATED && field + 8 <= fieldEnd) {
          packed = directory.getLongLE(field);
          field += 8;
        }
        if (localOffset == SATURATED && field + 8 <= fieldEnd) {
          localOffset = directory.getLongLE(field);
        }
      }
      extra += 4 + length;
    }
    if (expanded < 0 || packed < 0 || localOffset < 0) {
      throw new BrokenArchive("entry " + quote(name) + " has corrupt sizes");
    }
    if (localOffset >= dataEnd) {
      throw new BrokenArchive("entry " + quote(name) + " starts past the archive's data");
    }
    if (tooDense(expanded, packed)) {
      throw new BrokenArchive("entry " + quote(name) + " " + expansion(expanded, packed));
    }
    if (entries + 1 > limits.maxZipEntries()) {
      throw new BrokenArchive("the archive has more than " + limits.maxZipEntries() + " entries");
    }
    uncompressed += expanded;
    compressed += packed;
    if (uncompressed > limits.maxZipUncompressedBytes() || uncompressed < 0) {
      throw new BrokenArchive("the archive expands to more than " + limits.maxZipUncompressedBytes() + " bytes");
    }
    return next;
  }

  private static void checkName(String name) {
    if (name.isEmpty()) {
      throw new BrokenArchive("an entry has an empty name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        throw new BrokenArchive("entry " + quote(name) + " has a control character in its name");
      }
    }
    boolean drive = name.length() >= 2 && name.charAt(1) == ':' && Character.isLetter(name.charAt(0));
    if (name.startsWith("/") || name.startsWith("\\") || drive) {
      throw new BrokenArchive("entry " + quote(name) + " has an absolute path");
    }
    for (String segment : name.split("[/\\\\]")) {
      if (segment.equals("..")) {
        throw new BrokenArchive("entry " + quote(name) + " has a '..' path segment that leaves the extraction directory");
      }
    }
  }

  /** Judged only past {@link ZipValidator#RATIO_FLOOR_BYTES}: a small file that compresses well is no bomb. */
  private boolean tooDense(long expanded, long packed) {
    if (expanded <= ZipValidator.RATIO_FLOOR_BYTES) {
      return false;
    }
    return packed == 0 || expanded / packed > limits.maxZipCompressionRatio();
  }

  private String expansion(long expanded, long packed) {
    String ratio = packed == 0 ? "without bound" : expanded / packed + " times";
    return "expands " + ratio + " (" + expanded + " bytes from " + packed + " compressed), above the ratio limit of "
        + limits.maxZipCompressionRatio();
  }

  private static String quote(String name) {
    StringBuilder quoted = new StringBuilder("'");
    name.codePoints().limit(200).forEach(c -> {
      if (c < 0x20 || c == 0x7f) {
        quoted.append(String.format("\\u%04x", c));
      } else {
        quoted.appendCodePoint(c);
      }
    });
    return quoted.append(name.length() > 200 ? "…'" : "'").toString();
  }
}
