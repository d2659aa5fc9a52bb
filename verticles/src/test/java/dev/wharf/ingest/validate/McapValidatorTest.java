package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class McapValidatorTest {

  private static final String TRUNCATED = "MCAP footer missing: the recording is truncated";

  private final Validator validator = new McapValidator();

  private Findings check(byte[] recording) {
    return Streaming.check(validator, Streaming.facts("drive.mcap", "application/x-mcap", recording), recording);
  }

  private static Buffer string(Buffer record, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    return record.appendIntLE(bytes.length).appendBytes(bytes);
  }

  private static Buffer record(Buffer recording, int opcode, Buffer content) {
    return recording.appendByte((byte) opcode).appendLongLE(content.length()).appendBuffer(content);
  }

  /** Magic, Header, a Channel-like record, DataEnd, Footer, magic. */
  private static byte[] recording(String profile, String library, long summaryStart, long summaryOffsetStart) {
    Buffer recording = Buffer.buffer(McapValidator.MAGIC);
    if (profile != null) {
      record(recording, 0x01, string(string(Buffer.buffer(), profile), library));
    }
    record(recording, 0x04, string(Buffer.buffer().appendShortLE((short) 1), "/imu").appendBytes(new byte[300]));
    record(recording, 0x0f, Buffer.buffer().appendIntLE(0));
    record(recording, 0x02, Buffer.buffer().appendLongLE(summaryStart).appendLongLE(summaryOffsetStart).appendIntLE(0));
    return recording.appendBytes(McapValidator.MAGIC).getBytes();
  }

  @Test
  void aCompleteRecordingIsValidAndItsHeaderLearned() {
    Findings findings = check(recording("ros2", "wharf-test 1.0", 0, 0));

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("mcap_profile", "ros2").containsEntry("mcap_library", "wharf-test 1.0");
  }

  @Test
  void aRecordingWithoutHeaderFirstIsStillCompleteButTeachesNothing() {
    Findings findings = check(recording(null, null, 0, 0));

    assertThat(findings.valid()).isTrue();
    assertThat(findings.learned()).isEmpty();
  }

  @Test
  void aRecordingWithASummaryInsideItIsValid() {
    assertThat(check(recording("", "", 40, 60)).valid()).isTrue();
  }

  @Test
  void aTruncatedRecordingIsRefused() {
    byte[] recording = recording("ros2", "wharf-test", 0, 0);

    for (int cut : new int[] {1, 8, 20, 37, 45, recording.length / 2, recording.length - 8}) {
      Findings findings = check(Arrays.copyOf(recording, recording.length - cut));
      assertThat(findings.valid()).as("cut %d bytes", cut).isFalse();
      assertThat(findings.detail()).as("cut %d bytes", cut).isEqualTo(TRUNCATED);
    }
  }

  @Test
  void contentWithoutTheLeadingMagicIsRefused() {
    byte[] recording = recording("ros2", "wharf-test", 0, 0);
    recording[4] = 'X';

    assertThat(check(recording).detail()).isEqualTo("not an MCAP recording: the leading magic is missing");
    assertThat(check("{\"not\": \"mcap\"}".getBytes(StandardCharsets.UTF_8)).valid()).isFalse();
    assertThat(check(new byte[0]).valid()).isFalse();
  }

  @Test
  void aCorruptFooterRecordIsRefused() {
    byte[] recording = recording("ros2", "wharf-test", 0, 0);
    recording[recording.length - 8 - 29] = 0x05; // footer opcode

    assertThat(check(recording).detail()).startsWith("MCAP footer record is corrupt");
  }

  @Test
  void aFooterPointingOutsideTheRecordingIsRefused() {
    byte[] pastTheEnd = recording("ros2", "wharf-test", 10_000, 0);
    byte[] intoTheMagic = recording("ros2", "wharf-test", 3, 0);
    byte[] offsetsBeforeSummary = recording("ros2", "wharf-test", 60, 40);

    for (byte[] recording : new byte[][] {pastTheEnd, intoTheMagic, offsetsBeforeSummary}) {
      assertThat(check(recording).detail()).isEqualTo("MCAP footer points outside the recording: it is corrupt");
    }
  }

  @Test
  void appliesToSniffedOrDeclaredMcapAndMcapFileNames() {
    assertThat(validator.appliesTo(new ContentFacts("a.bin", null, SniffedType.MCAP, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/x-mcap", SniffedType.BINARY, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.mcap", null, SniffedType.BINARY, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", null, SniffedType.BINARY, 3))).isFalse();
  }
}
