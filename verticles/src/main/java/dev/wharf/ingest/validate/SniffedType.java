package dev.wharf.ingest.validate;

/** Content types Wharf recognises from magic bytes. */
public enum SniffedType {
  JSON("application/json"),
  ZIP("application/zip"),
  MCAP("application/x-mcap"),
  GZIP("application/gzip"),
  PNG("image/png"),
  JPEG("image/jpeg"),
  PDF("application/pdf"),
  TEXT("text/plain"),
  BINARY("application/octet-stream"),
  EMPTY("application/octet-stream");

  private final String mediaType;

  SniffedType(String mediaType) {
    this.mediaType = mediaType;
  }

  public String mediaType() {
    return mediaType;
  }
}
