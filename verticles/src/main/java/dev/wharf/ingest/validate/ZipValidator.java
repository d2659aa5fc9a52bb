package dev.wharf.ingest.validate;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.util.Map;

/**
 * Checks that a ZIP archive is complete and safe to extract, without buffering or decompressing it: once the
 * object has streamed by, it reads the end of central directory record from the tail (ZIP64 included), then
 * the central directory (refused beyond {@link ValidationLimits#maxZipDirectoryBytes}), and holds every entry
 * to the limits. An entry name must not be absolute ({@code /x}, {@code \x}, {@code C:x}), hold a {@code ..}
 * segment (with either separator) or a control character. The entry count, the total expanded size and the
 * compression ratio (total expanded over total compressed, and the same for each entry) must stay within
 * the limits; ratios are judged only past {@link #RATIO_FLOOR_BYTES} of expanded data. Entries whose
 * compressed sizes add up to more than the archive holds overlap one another and are refused.
 *
 * <p>An archive must end with its end record (and comment): bytes appended after it make the archive
 * invalid, as does data prepended before the entries that shifts their offsets. Split archives are refused.
 *
 * <p>Applies when the content sniffs as ZIP, the declared type is {@code application/zip}, or the declared
 * type names no format and the file name ends in {@code .zip}.
 *
 * <p>Learned: {@code zip_entries} and {@code zip_uncompressed_bytes}.
 */
public final class ZipValidator implements Validator {

  /** Expanded sizes up to this (1 MiB) are never called a zip bomb, however well they compress. */
  public static final long RATIO_FLOOR_BYTES = 1 << 20;

  private final ValidationLimits limits;

  public ZipValidator(ValidationLimits limits) {
    this.limits = limits;
  }

  @Override
  public String name() {
    return "zip";
  }

  @Override
  public boolean appliesTo(ContentFacts facts) {
    return facts.sniffed() == SniffedType.ZIP
        || "application/zip".equals(facts.declaredType())
        || (facts.declaresNoFormat() && facts.hasExtension(".zip"));
  }

  @Override
  public Check start(ContentFacts facts) {
    return new ArchiveCheck(facts.size());
  }

  private final class ArchiveCheck implements Check {

    private final long size;

    ArchiveCheck(long size) {
      this.size = size;
    }

    @Override
    public void update(Buffer chunk) {}

    @Override
    public Future<Findings> finish(RangeReader ranges) {
      return ZipEnd.locate(ranges, size)
          .compose(end -> readDirectory(ranges, end).map(directory -> check(directory, end)))
          .recover(failure -> failure instanceof BrokenArchive broken
              ? Future.succeededFuture(Findings.invalid(name(), broken.getMessage()))
              : Future.failedFuture(failure));
    }

    private Future<Buffer> readDirectory(RangeReader ranges, ZipEnd end) {
      if (end.entries() > limits.maxZipEntries()) {
        throw new BrokenArchive("the archive has " + end.entries() + " entries, more than the limit of "
            + limits.maxZipEntries());
      }
      if (end.directorySize() > limits.maxZipDirectoryBytes()) {
        throw new BrokenArchive("the central directory spans " + end.directorySize()
            + " bytes, more than the limit of " + limits.maxZipDirectoryBytes());
      }
      if (end.directoryOffset() + end.directorySize() > end.directoryLimit()) {
        throw new BrokenArchive("the central directory lies past the end of the archive: it is truncated or corrupt");
      }
      if (end.directorySize() == 0) {
        return Future.succeededFuture(Buffer.buffer());
      }
      return ranges.read(end.directoryOffset(), (int) end.directorySize());
    }

    private Findings check(Buffer directory, ZipEnd end) {
      ZipDirectory entries = new ZipDirectory(limits);
      entries.check(directory, end);
      return Findings.valid(name(), Map.of(
          "zip_entries", entries.entries(),
          "zip_uncompressed_bytes", entries.uncompressed()));
    }
  }
}
