package dev.wharf.files;

import java.util.Locale;

/** {@code uploading → uploaded → processing → processed | failed}. Deletion removes the row. */
public enum FileStatus {
  UPLOADING, UPLOADED, PROCESSING, PROCESSED, FAILED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static FileStatus fromWire(String value) {
    return valueOf(value.toUpperCase(Locale.ROOT));
  }
}
