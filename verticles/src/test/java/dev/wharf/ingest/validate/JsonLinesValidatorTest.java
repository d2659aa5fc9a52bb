package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonLinesValidatorTest {

  private static final ValidationLimits LIMITS = ValidationLimits.defaults();

  private final Validator validator = new JsonLinesValidator(LIMITS);

  private Findings check(String lines) {
    return check(lines.getBytes(StandardCharsets.UTF_8));
  }

  private Findings check(byte[] content) {
    return Streaming.check(validator, Streaming.facts("log.jsonl", "application/x-ndjson", content), content);
  }

  @Test
  void countsTheLinesOfAValidFile() {
    Findings findings = check("""
        {"t": 1, "speed": 2.5}
        {"t": 2, "speed": 2.75, "tags": ["a", "b"], "pos": {"x": 1}}
        {"t": 3}
        """);

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("lines", 3L);
  }

  @Test
  void jsonLinesReportsFirstBadLine() {
    Findings findings = check("""
        {"t": 1}
        {"t": 2}
        {"t": 3, "speed": }
        {"t": 4
        """);

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).startsWith("line 3 is not a JSON object: ");
  }

  @Test
  void aLineHoldingAnythingButAnObjectIsRefused() {
    assertThat(check("{\"a\": 1}\n[1, 2]\n").detail()).isEqualTo("line 2 is not a JSON object: it is an array");
    assertThat(check("\"text\"\n").detail()).isEqualTo("line 1 is not a JSON object: it is a string");
    assertThat(check("{\"a\": 1} {\"b\": 2}\n").detail()).isEqualTo("line 1 holds more than one JSON value");
    assertThat(check("{\"a\": 1}\n{\"a\":\n 2}\n").detail()).isEqualTo("line 2 is not a complete JSON object");
  }

  @Test
  void aTrailingCommaIsRefusedWhereverChunksEnd() {
    assertThat(check("{\"a\": 1}\n{\"a\": 1,}\n").detail()).startsWith("line 2 is not a JSON object: ");
  }

  @Test
  void crlfLineEndingsAndOneTrailingNewlineAreTolerated() {
    Findings findings = check("{\"a\": 1}\r\n{\"a\": 2}\r\n  {\"a\": 3}  \r\n");

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("lines", 3L);
  }

  @Test
  void aLastLineWithoutNewlineCounts() {
    assertThat(check("{\"a\": 1}\n{\"a\": 2}").learned()).containsEntry("lines", 2L);
  }

  @Test
  void aBlankLineIsRefusedWhereverItIs() {
    assertThat(check("{\"a\": 1}\n\n{\"a\": 2}\n").detail()).isEqualTo("line 2 is empty");
    assertThat(check("{\"a\": 1}\n  \r\n{\"a\": 2}\n").detail()).isEqualTo("line 2 is empty");
    assertThat(check("{\"a\": 1}\n\n").detail()).as("a second trailing newline").isEqualTo("line 2 is empty");
    assertThat(check("\n{\"a\": 1}\n").detail()).isEqualTo("line 1 is empty");
  }

  @Test
  void anEmptyFileHasNoLines() {
    Findings findings = check("");

    assertThat(findings.valid()).isTrue();
    assertThat(findings.learned()).containsEntry("lines", 0L);
  }

  @Test
  void aLineLongerThanTheLimitIsRefusedWithItsNumber() {
    int limit = LIMITS.maxJsonLineBytes();
    String atLimit = "{\"pad\": \"" + "x".repeat(limit - 11) + "\"}";
    String overLimit = "{\"pad\": \"" + "x".repeat(limit - 10) + "\"}";
    assertThat(atLimit).hasSize(limit);

    assertThat(check("{}\n" + atLimit + "\n").valid()).isTrue();
    assertThat(check("{}\n{}\n" + overLimit + "\n{}\n").detail()).isEqualTo("line 3 exceeds " + limit + " bytes");
  }

  @Test
  void aLineLongerThanTheLimitIsRefusedEvenIfItNeverEnds() {
    byte[] content = new byte[LIMITS.maxJsonLineBytes() * 3];
    java.util.Arrays.fill(content, (byte) ' ');

    assertThat(check(content).detail()).isEqualTo("line 1 exceeds " + LIMITS.maxJsonLineBytes() + " bytes");
  }

  @Test
  void nestingBeyondTheLimitIsRefused() {
    int limit = LIMITS.maxJsonDepth();
    String deep = "{\"a\":" + "[".repeat(limit) + "]".repeat(limit) + "}";

    assertThat(check("{}\n" + deep + "\n").detail()).isEqualTo("line 2 is nested deeper than " + limit + " levels");
  }

  @Test
  void appliesToJsonLinesTypesAndFileNames() {
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/jsonl", SniffedType.JSON, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.ndjson", null, SniffedType.TEXT, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.JSONL", "application/octet-stream", SniffedType.JSON, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.json", null, SniffedType.JSON, 3))).isFalse();
    assertThat(validator.appliesTo(new ContentFacts("a.jsonl", "application/json", SniffedType.JSON, 3))).isFalse();
  }
}
