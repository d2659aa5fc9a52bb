package dev.wharf.ingest.validate;

import io.vertx.core.buffer.Buffer;

/**
 * Recognises a file's type from its first bytes: magic signatures first (ZIP, MCAP, GZIP, PNG, JPEG, PDF),
 * then text. Text is valid UTF-8 (a multi-byte character cut off where the head ends is allowed) without
 * NUL or control bytes other than tab, line feed, form feed, carriage return and escape; text whose first
 * non-whitespace character, after an optional byte order mark, is {@code {} or {@code [} is JSON. Anything
 * else is binary.
 */
public final class TypeSniffer {

  /** How many leading bytes are enough to sniff; more are ignored. */
  public static final int HEAD_BYTES = 512;

  private static final byte[] ZIP = {'P', 'K', 3, 4};
  private static final byte[] EMPTY_ZIP = {'P', 'K', 5, 6};
  private static final byte[] MCAP = {(byte) 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};
  private static final byte[] GZIP = {0x1f, (byte) 0x8b};
  private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  private static final byte[] JPEG = {(byte) 0xff, (byte) 0xd8, (byte) 0xff};
  private static final byte[] PDF = {'%', 'P', 'D', 'F', '-'};
  private static final byte[] BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

  private TypeSniffer() {}

  /** The type of a file starting with {@code head}; only the first {@link #HEAD_BYTES} are looked at. */
  public static SniffedType sniff(Buffer head) {
    byte[] bytes = head.getBytes(0, Math.min(head.length(), HEAD_BYTES));
    if (bytes.length == 0) {
      return SniffedType.EMPTY;
    }
    if (startsWith(bytes, ZIP) || startsWith(bytes, EMPTY_ZIP)) {
      return SniffedType.ZIP;
    }
    if (startsWith(bytes, MCAP)) {
      return SniffedType.MCAP;
    }
    if (startsWith(bytes, GZIP)) {
      return SniffedType.GZIP;
    }
    if (startsWith(bytes, PNG)) {
      return SniffedType.PNG;
    }
    if (startsWith(bytes, JPEG)) {
      return SniffedType.JPEG;
    }
    if (startsWith(bytes, PDF)) {
      return SniffedType.PDF;
    }
    if (!isText(bytes)) {
      return SniffedType.BINARY;
    }
    int i = startsWith(bytes, BOM) ? BOM.length : 0;
    while (i < bytes.length && isJsonWhitespace(bytes[i])) {
      i++;
    }
    return i < bytes.length && (bytes[i] == '{' || bytes[i] == '[') ? SniffedType.JSON : SniffedType.TEXT;
  }

  private static boolean startsWith(byte[] bytes, byte[] prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (bytes[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean isJsonWhitespace(byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
  }

  private static boolean isText(byte[] bytes) {
    int i = 0;
    while (i < bytes.length) {
      int b = bytes[i] & 0xff;
      if (b < 0x80) {
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\f' && b != '\r' && b != 0x1b) {
          return false;
        }
        i++;
        continue;
      }
      int continuation;
      int min;
      if (b >= 0xc2 && b <= 0xdf) {
        continuation = 1;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        continuation = 2;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        continuation = 3;
        min = 0x10000;
      } else {
        return false;
      }
      int codePoint = b & (0x3f >> continuation);
      for (int k = 1; k <= continuation; k++) {
        if (i + k >= bytes.length) {
          return true; // a character cut off where the head ends
        }
        int next = bytes[i + k] & 0xff;
        if ((next & 0xc0) != 0x80) {
          return false;
        }
        codePoint = (codePoint << 6) | (next & 0x3f);
      }
      if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        return false;
      }
      i += continuation + 1;
    }
    return true;
  }
}
