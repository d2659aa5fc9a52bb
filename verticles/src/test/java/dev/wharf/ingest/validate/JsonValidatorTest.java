package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonValidatorTest {

  private final Validator validator = new JsonValidator(ValidationLimits.defaults());

  private Findings check(String json) {
    byte[] content = json.getBytes(StandardCharsets.UTF_8);
    return Streaming.check(validator, Streaming.facts("trip.json", "application/json", content), content);
  }

  @Test
  void aDocumentIsValidAndItsKindLearned() {
    Findings findings = check("""
        {
          "device": "rover-7",
          "readings": [{"t": 1, "speed": 2.5}, {"t": 2, "speed": 2.75}],
          "notes": "naïve ✓", "ok": true, "gap": null
        }
        """);

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("json_kind", "object").doesNotContainKey("json_items");
  }

  @Test
  void aTopLevelArrayCountsItsItemsButNotNestedOnes() {
    Findings findings = check("[{\"a\": [1, 2, 3]}, [4, 5], \"six\", 7, null]");

    assertThat(findings.valid()).as(findings.detail()).isTrue();
    assertThat(findings.learned()).containsEntry("json_kind", "array").containsEntry("json_items", 5L);
  }

  @Test
  void aScalarDocumentIsValid() {
    assertThat(check(" 42 \n").learned()).containsEntry("json_kind", "number");
    assertThat(check("\"hello\"").learned()).containsEntry("json_kind", "string");
  }

  @Test
  void aByteOrderMarkIsAccepted() {
    assertThat(check("\uFEFF{\"a\": 1}").valid()).isTrue();
  }

  @Test
  void aSyntaxErrorIsReportedWithItsLineAndColumn() {
    Findings findings = check("{\n  \"a\": 1,\n  \"b\": tru\n}");

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).startsWith("invalid JSON at line 3, column").contains("byte");
  }

  @Test
  void aSecondTopLevelValueIsRefused() {
    Findings findings = check("{\"a\": 1}\n{\"b\": 2}\n");

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).contains("more than one top-level JSON value").contains("line 2, column 1");
  }

  @Test
  void anythingButWhitespaceAfterTheValueIsRefused() {
    assertThat(check("{\"a\": 1}  x").valid()).isFalse();
    assertThat(check("[1, 2]]").valid()).isFalse();
    assertThat(check("{\"a\": 1}  \r\n\t ").valid()).isTrue();
  }

  @Test
  void aTrailingCommaOrMissingValueIsRefusedWhereverChunksEnd() {
    // Streaming.check also feeds byte by byte, where Jackson 2.18 on its own would accept these
    assertThat(check("{\"a\": 1,}").detail()).startsWith("invalid JSON at line 1").contains("after ','");
    assertThat(check("{\"a\": {\"b\": 1 ,\n }}").valid()).isFalse();
    assertThat(check("{\"a\":}").detail()).contains("after ':'");
    assertThat(check("[1, 2,]").valid()).isFalse();
  }

  @Test
  void commasAndBracketsInsideStringsAreJustText() {
    Findings findings = check("{\"a\": \",}\", \"b\": \"\\\",}\", \"c\": \"\\\\\"}");

    assertThat(findings.valid()).as(findings.detail()).isTrue();
  }

  @Test
  void aDocumentCutShortIsRefused() {
    Findings findings = check("{\"readings\": [1, 2, 3");

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).startsWith("invalid JSON").containsIgnoringCase("end-of-input");
  }

  @Test
  void anEmptyOrBlankFileIsNotJson() {
    assertThat(check("").detail()).isEqualTo("no JSON value: the file is empty or only whitespace");
    assertThat(check(" \n ").valid()).isFalse();
  }

  @Test
  void nestingBeyondTheLimitIsRefused() {
    int limit = ValidationLimits.defaults().maxJsonDepth();

    assertThat(check("[".repeat(limit) + "]".repeat(limit)).valid()).isTrue();
    Findings tooDeep = check("[".repeat(limit + 1) + "]".repeat(limit + 1));
    assertThat(tooDeep.valid()).isFalse();
    assertThat(tooDeep.detail()).startsWith("JSON nested deeper than " + limit + " levels at line 1");
  }

  @Test
  void appliesToDeclaredJsonJsonFileNamesAndSniffedJsonThatIsNotJsonLines() {
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/json", SniffedType.TEXT, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/ld+json", SniffedType.JSON, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.JSON", null, SniffedType.TEXT, 3))).isTrue();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", "application/octet-stream", SniffedType.JSON, 3))).isTrue();

    assertThat(validator.appliesTo(new ContentFacts("a.jsonl", null, SniffedType.JSON, 3))).isFalse();
    assertThat(validator.appliesTo(new ContentFacts("a.json", "application/x-ndjson", SniffedType.JSON, 3))).isFalse();
    assertThat(validator.appliesTo(new ContentFacts("a.txt", "text/csv", SniffedType.JSON, 3))).isFalse();
    assertThat(validator.appliesTo(new ContentFacts("a.bin", null, SniffedType.TEXT, 3))).isFalse();
  }

  @Test
  void jsonLinesFoundOnlyBySniffingGetsAHintToNameItSo() {
    byte[] content = "{\"a\": 1}\n{\"b\": 2}\n".getBytes(StandardCharsets.UTF_8);
    Findings findings = Streaming.check(validator, Streaming.facts("upload", null, content), content);

    assertThat(findings.valid()).isFalse();
    assertThat(findings.detail()).contains("name it .jsonl or declare application/x-ndjson");
  }
}
