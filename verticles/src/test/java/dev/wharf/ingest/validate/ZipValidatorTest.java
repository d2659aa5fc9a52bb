package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class ZipValidatorTest {

  private static final ValidationLimits LIMITS = ValidationLimits.defaults();

  private Findings check(byte[] archive) {
    return check(LIMITS, archive);
  }

  private Findings check(ValidationLimits limits, byte[] archive) {
    Validator validator = new ZipValidator(limits);
    return Streaming.check(validator, Streaming.facts("bundle.zip", "application/zip", archive), archive);
  }

  private static byte[] zip(Map<String, byte[]> entries) throws IOException {
    return zip(entries, null);
  }

  private static byte[] zip(Map<String, byte[]> entries, String comment) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      if (comment != null) {
        out.setComment(comment);
      }
      for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
        out.putNextEntry(new ZipEntry(entry.getKey()));
        out.write(entry.getValue());
        out.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static byte[] text(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] random(int length) {
    byte[] bytes = new byte[length];
    new Random(length).nextBytes(bytes);
    return bytes;
  }

  private static Map<String, byte[]> entries(Object... namesAndContents) {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    for (int i = 0; i < namesAndContents.length; i += 2) {
      entries.put((String) namesAndContents[i], (byte[]) namesAndContents[i + 1]);
    }
    return entries;
  }

  @Test
  void aSoundArchiveIsValidAndItsEntriesCounted() throws IOException {
    byte[] archive = zip(entries(
        "logs/", new byte[0],
        "logs/drive.csv", text("t,speed\n1,2.5\n".repeat(1000)),
        "camera/front.bin", random(70_000)));

    Findings findings = check(archive);

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned())
        .containsEntry("zip_entries", 3L)
        .containsEntry("zip_uncompressed_bytes", 14_000L + 70_000L);
  }

  @Test
  void anArchiveWithACommentIsFoundFromItsTail() throws IOException {
    byte[] archive = zip(entries("a.txt", text("hello")), "made on rover-7 " + "x".repeat(3000));

    assertThat(check(archive).learned()).containsEntry("zip_entries", 1L);
  }

  @Test
  void anEmptyArchiveIsValid() throws IOException {
    byte[] archive = zip(Map.of());
    assertThat(TypeSniffer.sniff(Buffer.buffer(archive))).isEqualTo(SniffedType.ZIP);

    Findings findings = check(archive);

    assertThat(findings.valid()).isTrue();
    assertThat(findings.learned()).containsEntry("zip_entries", 0L).containsEntry("zip_uncompressed_bytes", 0L);
  }

  @Test
  void anEntryClimbingOutOfTheExtractionDirectoryIsRefused() throws IOException {
    Findings findings = check(zip(entries("readme.txt", text("hi"), "../../etc/passwd", text("root::0:0"))));

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).contains("'../../etc/passwd'").contains("'..' path segment");
  }

  @Test
  void parentSegmentsAreFoundWithEitherSeparator() throws IOException {
    assertThat(check(zip(entries("data\\..\\..\\boot.ini", text("x")))).valid()).isFalse();
    assertThat(check(zip(entries("a/b/..", text("x")))).valid()).isFalse();
    assertThat(check(zip(entries("a/..b/c...", text("x"), "...", text("y")))).valid()).as("dots that are not '..'").isTrue();
  }

  @Test
  void absoluteEntryNamesAreRefused() throws IOException {
    assertThat(check(zip(entries("/etc/cron.d/job", text("x")))).detail()).isEqualTo("entry '/etc/cron.d/job' has an absolute path");
    assertThat(check(zip(entries("C:\\Windows\\evil.dll", text("x")))).detail()).contains("absolute path");
    assertThat(check(zip(entries("\\\\server\\share\\x", text("x")))).detail()).contains("absolute path");
  }

  @Test
  void controlCharactersInEntryNamesAreRefused() throws IOException {
    Findings findings = check(zip(entries("report\u0007.txt", text("x"))));

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).isEqualTo("entry 'report\\u0007.txt' has a control character in its name");
  }

  @Test
  void aZipBombIsRefused() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      out.putNextEntry(new ZipEntry("zeros.bin"));
      byte[] megabyte = new byte[1 << 20];
      for (int i = 0; i < 50; i++) {
        out.write(megabyte);
      }
      out.closeEntry();
    }

    Findings findings = check(bytes.toByteArray());

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).startsWith("entry 'zeros.bin' expands").contains("52428800 bytes");
  }

  @Test
  void aBombEntryIsRefusedEvenWhenTheWholeArchiveLooksModest() throws IOException {
    byte[] archive = zip(entries("noise.bin", random(2 << 20), "sparse.img", new byte[20 << 20]));

    Findings findings = check(archive);

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).startsWith("entry 'sparse.img' expands");
  }

  @Test
  void aSmallFileThatCompressesWellIsNoBomb() throws IOException {
    assertThat(check(zip(entries("zeros.bin", new byte[1 << 20]))).valid()).isTrue();
  }

  @Test
  void aTruncatedArchiveIsRefused() throws IOException {
    byte[] archive = zip(entries("a.bin", random(100_000), "b.txt", text("tail")));

    for (int cut : new int[] {10, 30, archive.length / 2, archive.length - 21}) {
      Findings findings = check(Arrays.copyOf(archive, archive.length - cut));
      assertThat(findings.valid()).as("cut %d bytes", cut).isFalse();
      assertThat(findings.detail()).as("cut %d bytes", cut).isEqualTo(ZipEnd.NO_END);
    }
  }

  @Test
  void contentThatIsNoArchiveAtAllIsRefused() {
    assertThat(check(text("definitely not a zip")).detail()).isEqualTo(ZipEnd.NO_END);
    assertThat(check(new byte[3]).detail()).isEqualTo(ZipEnd.NO_END);
  }

  @Test
  void bytesAppendedAfterTheArchiveMakeItInvalid() throws IOException {
    byte[] archive = zip(entries("a.txt", text("x")));
    byte[] padded = Arrays.copyOf(archive, archive.length + 100);

    assertThat(check(padded).detail()).isEqualTo(ZipEnd.NO_END);
  }

  @Test
  void aDirectoryPointingPastTheArchiveIsRefused() throws IOException {
    byte[] archive = zip(entries("a.txt", text("hello")));
    Buffer patched = Buffer.buffer(archive);
    patched.setIntLE(archive.length - 22 + 16, archive.length); // central directory offset

    assertThat(check(patched.getBytes()).detail()).contains("central directory lies past the end");
  }

  @Test
  void entriesClaimingMoreDataThanTheArchiveHoldsAreRefused() throws IOException {
    byte[] archive = zip(entries("a.txt", text("hello")));
    Buffer patched = Buffer.buffer(archive);
    int directory = patched.getIntLE(archive.length - 22 + 16);
    patched.setIntLE(directory + 20, directory + 1000); // compressed size

    assertThat(check(patched.getBytes()).detail()).contains("they overlap");
  }

  @Test
  void theEntryLimitHolds() throws IOException {
    ValidationLimits two = new ValidationLimits(1 << 20, 512, 2, 64L << 30, 100, 32 << 20);
    byte[] archive = zip(entries("a", text("1"), "b", text("2"), "c", text("3")));

    assertThat(check(two, archive).detail()).isEqualTo("the archive has 3 entries, more than the limit of 2");
  }

  @Test
  void theUncompressedSizeLimitHolds() throws IOException {
    ValidationLimits small = new ValidationLimits(1 << 20, 512, 100, 150_000, 100, 32 << 20);
    byte[] archive = zip(entries("a.bin", random(100_000), "b.bin", random(100_000)));

    assertThat(check(small, archive).detail()).isEqualTo("the archive expands to more than 150000 bytes");
  }

  @Test
  void aCentralDirectoryBeyondTheLimitIsNotRead() throws IOException {
    ValidationLimits small = new ValidationLimits(1 << 20, 512, 100, 64L << 30, 100, 100);
    byte[] archive = zip(entries("first-entry-with-a-long-name.txt", text("1"), "second-entry-with-a-long-name.txt", text("2")));

    assertThat(check(small, archive).detail()).startsWith("the central directory spans").endsWith("more than the limit of 100");
  }

  @Test
  void zip64ArchivesWithManyEntriesAreRead() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      for (int i = 0; i < 70_000; i++) {
        out.putNextEntry(new ZipEntry("f" + i));
        out.closeEntry();
      }
    }
    byte[] archive = bytes.toByteArray();
    assertThat(Buffer.buffer(archive).getUnsignedShortLE(archive.length - 22 + 10)).as("saturated count").isEqualTo(0xffff);

    Findings findings = check(archive);

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("zip_entries", 70_000L);
  }

  @Test
  void zip64SizesInExtraFieldsAreCounted() {
    Findings findings = check(HandMadeZip.withZip64Sizes("big.bin", 3L << 20, 1 << 20));

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("zip_uncompressed_bytes", 3L << 20);
  }

  @Test
  void aBombHiddenInZip64SizesIsRefused() {
    Findings findings = check(HandMadeZip.withZip64Sizes("big.bin", 6L << 30, 10));

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).contains("6442450944 bytes from 10");
  }

  @Test
  void appliesToSniffedOrDeclaredZipAndZipFileNames() {
    Validator validator = new ZipValidator(LIMITS);

    assertThat(validator.appliesTo(new ContentFacts("a.bin", null, SniffedType.ZIP, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/zip", SniffedType.TEXT, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.ZIP", "application/octet-stream", SniffedType.BINARY, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.zip", "application/json", SniffedType.JSON, 3))).isFalse();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", null, SniffedType.BINARY, 3))).isFalse();
  }

  /** A one-entry archive whose central directory gives both sizes in a ZIP64 extra field. */
  private static final class HandMadeZip {

    static byte[] withZip64Sizes(String name, long uncompressed, int compressed) {
      byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
      Buffer zip = Buffer.buffer()
          .appendIntLE(0x04034b50).appendShortLE((short) 45).appendShortLE((short) 0).appendShortLE((short) 8)
          .appendIntLE(0).appendIntLE(0).appendIntLE(-1).appendIntLE(-1)
          .appendShortLE((short) nameBytes.length).appendShortLE((short) 0).appendBytes(nameBytes)
          .appendBytes(new byte[compressed]);
      int directory = zip.length();
      zip.appendIntLE(0x02014b50).appendShortLE((short) 45).appendShortLE((short) 45).appendShortLE((short) 0)
          .appendShortLE((short) 8).appendIntLE(0).appendIntLE(0)
          .appendIntLE(-1).appendIntLE(-1) // compressed and uncompressed sizes: see the ZIP64 extra field
          .appendShortLE((short) nameBytes.length).appendShortLE((short) 20).appendShortLE((short) 0)
          .appendShortLE((short) 0).appendShortLE((short) 0).appendIntLE(0).appendIntLE(0)
          .appendBytes(nameBytes)
          .appendShortLE((short) 1).appendShortLE((short) 16).appendLongLE(uncompressed).appendLongLE(compressed);
      int directorySize = zip.length() - directory;
      zip.appendIntLE(0x06054b50).appendShortLE((short) 0).appendShortLE((short) 0)
          .appendShortLE((short) 1).appendShortLE((short) 1).appendIntLE(directorySize).appendIntLE(directory)
          .appendShortLE((short) 0);
      return zip.getBytes();
    }
  }
}
