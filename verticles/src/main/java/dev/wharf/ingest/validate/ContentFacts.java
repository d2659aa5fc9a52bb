package dev.wharf.ingest.validate;

import java.util.Locale;
import java.util.Set;

/**
 * What is known about a file when its checks start.
 *
 * @param filename the sanitised file name
 * @param declaredType the media type the uploader declared, lower-case without parameters, or null
 * @param sniffed the type recognised from the first bytes
 * @param size the object size in bytes
 */
public record ContentFacts(String filename, String declaredType, SniffedType sniffed, long size) {

  /** The media types that name JSON Lines (newline-delimited JSON). */
  public static final Set<String> JSON_LINES_TYPES =
      Set.of("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines");

  /**
   * Whether the declared type says nothing about the format ({@code null}, {@code application/octet-stream}
   * or {@code text/plain}); only then does the file name's extension decide which validators apply.
   */
  public boolean declaresNoFormat() {
    return declaredType == null
        || declaredType.equals("application/octet-stream")
        || declaredType.equals("text/plain");
  }

  /** Whether the declared type is {@code application/json} or a {@code +json} structured syntax type. */
  public boolean declaresJson() {
    return declaredType != null && (declaredType.equals("application/json") || declaredType.endsWith("+json"));
  }

  /** Whether the declared type is one of the {@linkplain #JSON_LINES_TYPES JSON Lines types}. */
  public boolean declaresJsonLines() {
    return declaredType != null && JSON_LINES_TYPES.contains(declaredType);
  }

  /** Whether the file name ends with one of the extensions (given with the dot), ignoring case. */
  public boolean hasExtension(String... extensions) {
    if (filename == null) {
      return false;
    }
    String lower = filename.toLowerCase(Locale.ROOT);
    for (String extension : extensions) {
      if (lower.endsWith(extension)) {
        return true;
      }
    }
    return false;
  }

  /** Whether the uploader called this file JSON Lines, by declared type or, failing that, by name. */
  public boolean isJsonLines() {
    return declaresJsonLines() || (declaresNoFormat() && hasExtension(".jsonl", ".ndjson"));
  }
}
