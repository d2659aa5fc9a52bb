package dev.wharf.ingest.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The standard validators as the ingest worker uses them: the ones that apply, first invalid detail wins. */
class ValidatorsTest {

  private final List<Validator> standard = Validators.standard(ValidationLimits.defaults());

  private List<String> applying(ContentFacts facts) {
    return standard.stream().filter(v -> v.appliesTo(facts)).map(Validator::name).toList();
  }

  private Findings verdict(String filename, String declaredType, byte[] content) {
    ContentFacts facts = Streaming.facts(filename, declaredType, content);
    return standard.stream()
        .filter(v -> v.appliesTo(facts))
        .map(v -> Streaming.check(v, facts, content))
        .filter(findings -> !findings.valid())
        .findFirst()
        .orElse(Findings.valid("all", java.util.Map.of()));
  }

  @Test
  void eachFormatIsCheckedByItsOwnValidatorAndTheDeclaredTypeCheck() {
    assertThat(applying(new ContentFacts("a.jsonl", null, SniffedType.JSON, 9))).containsExactly("declared-type", "jsonl");
    assertThat(applying(new ContentFacts("a.json", null, SniffedType.JSON, 9))).containsExactly("declared-type", "json");
    assertThat(applying(new ContentFacts("a", null, SniffedType.ZIP, 9))).containsExactly("declared-type", "zip");
    assertThat(applying(new ContentFacts("a", null, SniffedType.MCAP, 9))).containsExactly("declared-type", "mcap");
    assertThat(applying(new ContentFacts("a.png", "image/png", SniffedType.PNG, 9))).containsExactly("declared-type");
  }

  @Test
  void aDeclaredTypeMismatchIsTheDetailAUserSees() {
    byte[] mcap = {(byte) 0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n', 0, 0};

    Findings verdict = verdict("drive.zip", "application/zip", mcap);

    assertThat(verdict.validator()).isEqualTo("declared-type");
    assertThat(verdict.detail()).isEqualTo("declared application/zip but the content looks like application/x-mcap");
  }

  @Test
  void aValidJsonLinesUploadPassesEveryCheckThatApplies() {
    byte[] lines = "{\"t\": 1}\n{\"t\": 2}\n".getBytes(StandardCharsets.UTF_8);

    assertThat(verdict("imu.ndjson", "application/octet-stream", lines).valid()).isTrue();
    assertThat(verdict("imu.bin", "application/x-ndjson", lines).valid()).isTrue();
  }
}
