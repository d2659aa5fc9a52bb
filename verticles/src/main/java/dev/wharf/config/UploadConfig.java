package dev.wharf.config;

/**
 * Limits on uploads.
 *
 * @param maxFileBytes largest file accepted; a larger Content-Length is refused before reading
 * @param maxConcurrentUploads uploads one gateway process streams at once; more are shed with 503
 * @param maxFilenameBytes cap of a sanitised file name in UTF-8 bytes
 */
public record UploadConfig(long maxFileBytes, int maxConcurrentUploads, int maxFilenameBytes) {

  public UploadConfig {
    if (maxFileBytes < 1) {
      throw new IllegalArgumentException("uploads.max-file-bytes must be positive");
    }
    if (maxConcurrentUploads < 1) {
      throw new IllegalArgumentException("uploads.max-concurrent must be at least 1");
    }
    if (maxFilenameBytes < 16) {
      throw new IllegalArgumentException("uploads.max-filename-bytes must be at least 16");
    }
  }
}
