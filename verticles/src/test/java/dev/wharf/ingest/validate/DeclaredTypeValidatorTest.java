package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DeclaredTypeValidatorTest {

  private static final byte[] MCAP = {(byte) 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n', 1, 2, 3};
  private static final byte[] ZIP = {'P', 'K', 3, 4, 20, 0, 0, 0};
  private static final byte[] JSON = "{\"speed\": 3}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] TEXT = "speed=3\n".getBytes(StandardCharsets.UTF_8);

  private final Validator validator = new DeclaredTypeValidator();

  private Findings check(String declaredType, byte[] content) {
    return Streaming.check(validator, Streaming.facts("upload.bin", declaredType, content), content);
  }

  @Test
  void aZipThatIsReallyAnMcapRecordingIsRefusedNamingBoth() {
    Findings findings = check("application/zip", MCAP);

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).isEqualTo("declared application/zip but the content looks like application/x-mcap");
  }

  @Test
  void contentMatchingItsDeclaredTypePasses() {
    assertThat(check("application/zip", ZIP).valid()).isTrue();
    assertThat(check("application/x-mcap", MCAP).valid()).isTrue();
    assertThat(check("application/json", JSON).valid()).isTrue();
    assertThat(check("application/vnd.geo+json", JSON).valid()).isTrue();
    assertThat(check("application/json", JSON).learned()).containsEntry("sniffed_format", "json");
  }

  @Test
  void aFormatDeclaredForTextBinaryOrNothingIsRefused() {
    assertThat(check("image/png", TEXT).detail()).isEqualTo("declared image/png but the content looks like text/plain");
    assertThat(check("application/pdf", new byte[] {0, 1, 2}).detail())
        .isEqualTo("declared application/pdf but the content looks like unrecognised binary data");
    assertThat(check("application/json", new byte[0]).detail()).isEqualTo("declared application/json but the content is empty");
    assertThat(check("application/json", TEXT).valid()).isFalse();
  }

  @Test
  void jsonLinesTypesAcceptJsonTextAndEmptyContent() {
    for (String type : ContentFacts.JSON_LINES_TYPES) {
      assertThat(check(type, JSON).valid()).as(type).isTrue();
      assertThat(check(type, TEXT).valid()).as(type).isTrue();
      assertThat(check(type, new byte[0]).valid()).as(type).isTrue();
      assertThat(check(type, ZIP).valid()).as(type).isFalse();
    }
  }

  @Test
  void octetStreamUnknownAndMissingDeclaredTypesNeverFail() {
    for (byte[] content : new byte[][] {MCAP, ZIP, JSON, TEXT, {}}) {
      assertThat(check("application/octet-stream", content).valid()).isTrue();
      assertThat(check(null, content).valid()).isTrue();
      assertThat(check("application/vnd.acme.telemetry", content).valid()).isTrue();
    }
  }
}
