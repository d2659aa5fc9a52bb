package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TypeSnifferTest {

  private static SniffedType sniff(byte... head) {
    return TypeSniffer.sniff(Buffer.buffer(head));
  }

  private static SniffedType sniff(String head) {
    return sniff(head.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] bytes(int... values) {
    byte[] bytes = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      bytes[i] = (byte) values[i];
    }
    return bytes;
  }

  @Test
  void recognisesFormatsByTheirMagicBytes() {
    assertThat(sniff(bytes('P', 'K', 3, 4, 20, 0))).isEqualTo(SniffedType.ZIP);
    assertThat(sniff(bytes('P', 'K', 5, 6, 0, 0))).as("an empty archive").isEqualTo(SniffedType.ZIP);
    assertThat(sniff(bytes(0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n', 1))).isEqualTo(SniffedType.MCAP);
    assertThat(sniff(bytes(0x1f, 0x8b, 8, 0))).isEqualTo(SniffedType.GZIP);
    assertThat(sniff(bytes(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0))).isEqualTo(SniffedType.PNG);
    assertThat(sniff(bytes(0xff, 0xd8, 0xff, 0xe0))).isEqualTo(SniffedType.JPEG);
    assertThat(sniff("%PDF-1.7\n")).isEqualTo(SniffedType.PDF);
  }

  @Test
  void aNearMissOfAMagicIsNotThatFormat() {
    assertThat(sniff(bytes(0x89, 'M', 'C', 'A', 'P', '1', '\r', '\n'))).isEqualTo(SniffedType.BINARY);
    assertThat(sniff("PK and some text")).isEqualTo(SniffedType.TEXT);
    assertThat(sniff("%PDF")).isEqualTo(SniffedType.TEXT);
  }

  @Test
  void jsonIsTextStartingWithABraceOrBracketAfterWhitespaceAndByteOrderMark() {
    assertThat(sniff("{\"a\":1}")).isEqualTo(SniffedType.JSON);
    assertThat(sniff(" \r\n\t[1, 2]")).isEqualTo(SniffedType.JSON);
    assertThat(sniff("\uFEFF  {}")).isEqualTo(SniffedType.JSON);
    assertThat(sniff("\"just a string\"")).isEqualTo(SniffedType.TEXT);
    assertThat(sniff(bytes('{', 0, 0, 0))).as("binary that starts with a brace").isEqualTo(SniffedType.BINARY);
  }

  @Test
  void utf8WithoutControlBytesIsText() {
    assertThat(sniff("timestamp,speed\n1,2.5\r\n")).isEqualTo(SniffedType.TEXT);
    assertThat(sniff("Größe: 12 km/h — ok ✓ 🚗\n")).isEqualTo(SniffedType.TEXT);
    assertThat(sniff("ansi \u001b[31mred\u001b[0m\f")).isEqualTo(SniffedType.TEXT);
  }

  @Test
  void nulControlBytesAndMalformedUtf8AreBinary() {
    assertThat(sniff(bytes('a', 'b', 0, 'c'))).isEqualTo(SniffedType.BINARY);
    assertThat(sniff(bytes('a', 0x07, 'c'))).isEqualTo(SniffedType.BINARY);
    assertThat(sniff(bytes('a', 0xc3, 'c'))).as("a lead byte without continuation").isEqualTo(SniffedType.BINARY);
    assertThat(sniff(bytes(0xc0, 0xaf))).as("an overlong encoding").isEqualTo(SniffedType.BINARY);
    assertThat(sniff(bytes(0xed, 0xa0, 0x80))).as("a surrogate").isEqualTo(SniffedType.BINARY);
    assertThat(sniff(bytes(0xff, 0xfe, 'a', 0))).isEqualTo(SniffedType.BINARY);
  }

  @Test
  void aCharacterCutOffWhereTheHeadEndsIsStillText() {
    byte[] head = new byte[TypeSniffer.HEAD_BYTES];
    Arrays.fill(head, (byte) 'a');
    head[head.length - 2] = (byte) 0xe2; // the first two of the three bytes of "—"
    head[head.length - 1] = (byte) 0x80;
    assertThat(sniff(head)).isEqualTo(SniffedType.TEXT);
  }

  @Test
  void looksOnlyAtTheHead() {
    byte[] content = new byte[TypeSniffer.HEAD_BYTES + 10];
    Arrays.fill(content, (byte) 'x');
    content[content.length - 1] = 0;
    assertThat(sniff(content)).isEqualTo(SniffedType.TEXT);
  }

  @Test
  void noBytesAreEmpty() {
    assertThat(sniff(new byte[0])).isEqualTo(SniffedType.EMPTY);
  }
}
