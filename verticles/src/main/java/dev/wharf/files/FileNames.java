package dev.wharf.files;

import dev.wharf.error.ClientException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * File name sanitising. The stored name keeps only the last path segment, drops control and format
 * characters, trims dots and spaces, and is cut to a byte cap on a character boundary; the original is
 * kept as metadata only. Object keys never contain a file name.
 */
public final class FileNames {

  private FileNames() {}

  /** The safe name for {@code raw}; 400 {@code invalid_filename} when nothing usable is left. */
  public static String sanitize(String raw, int maxBytes) {
    if (raw == null || raw.isBlank()) {
      throw ClientException.badRequest("invalid_filename", "a file name is required (X-Wharf-Filename or the multipart file name)");
    }
    String name = Normalizer.normalize(raw, Normalizer.Form.NFC);
    int cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
    name = name.substring(cut + 1);
    StringBuilder clean = new StringBuilder(name.length());
    name.codePoints().forEach(cp -> {
      int type = Character.getType(cp);
      boolean unsafe = Character.isISOControl(cp)
          || type == Character.FORMAT
          || type == Character.SURROGATE
          || type == Character.PRIVATE_USE
          || type == Character.UNASSIGNED
          || cp == ':' || cp == '*' || cp == '?' || cp == '"' || cp == '<' || cp == '>' || cp == '|';
      clean.appendCodePoint(unsafe ? '_' : cp);
    });
    String trimmed = clean.toString().strip();
    while (trimmed.startsWith(".")) {
      trimmed = trimmed.substring(1);
    }
    trimmed = trimmed.strip();
    if (trimmed.isEmpty() || trimmed.chars().allMatch(c -> c == '_')) {
      throw ClientException.badRequest("invalid_filename", "the file name has no usable characters");
    }
    return truncateUtf8(trimmed, maxBytes);
  }

  private static String truncateUtf8(String value, int maxBytes) {
    if (value.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
      return value;
    }
    StringBuilder out = new StringBuilder();
    int used = 0;
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
      if (used + len > maxBytes) {
        break;
      }
      out.appendCodePoint(cp);
      used += len;
      i += Character.charCount(cp);
    }
    return out.toString();
  }

  /** A header-safe ASCII fallback for Content-Disposition. */
  public static String asciiFallback(String name) {
    StringBuilder out = new StringBuilder(name.length());
    for (char c : name.toCharArray()) {
      out.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '_');
    }
    return out.toString();
  }
}
