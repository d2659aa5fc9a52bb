package dev.wharf.ingest.validate;

/**
 * Bounds the validators hold content to, so that one hostile upload cannot exhaust memory or a downstream
 * consumer's disk.
 *
 * @param maxJsonLineBytes the longest JSON Lines line, in bytes before its line feed
 * @param maxJsonDepth the deepest nesting of arrays and objects in a JSON document or JSON Lines line
 * @param maxZipEntries the most entries a ZIP archive may list
 * @param maxZipUncompressedBytes the most bytes all entries of a ZIP archive may expand to
 * @param maxZipCompressionRatio the highest ratio of uncompressed to compressed size, for the whole archive
 *     and for any single entry (judged only past {@link ZipValidator#RATIO_FLOOR_BYTES})
 * @param maxZipDirectoryBytes the largest ZIP central directory that is read
 */
public record ValidationLimits(
    int maxJsonLineBytes,
    int maxJsonDepth,
    int maxZipEntries,
    long maxZipUncompressedBytes,
    int maxZipCompressionRatio,
    int maxZipDirectoryBytes) {

  public ValidationLimits {
    requirePositive("maxJsonLineBytes", maxJsonLineBytes);
    requirePositive("maxJsonDepth", maxJsonDepth);
    requirePositive("maxZipEntries", maxZipEntries);
    requirePositive("maxZipUncompressedBytes", maxZipUncompressedBytes);
    requirePositive("maxZipCompressionRatio", maxZipCompressionRatio);
    requirePositive("maxZipDirectoryBytes", maxZipDirectoryBytes);
  }

  /**
   * 1 MiB JSON Lines lines, nesting depth 512, 100,000 ZIP entries expanding to at most 64 GiB at a ratio of
   * at most 100, and a central directory of at most 32 MiB.
   */
  public static ValidationLimits defaults() {
    return new ValidationLimits(1 << 20, 512, 100_000, 64L << 30, 100, 32 << 20);
  }

  private static void requirePositive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, was " + value);
    }
  }
}
