package dev.wharf.ingest.validate;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks that the declared media type agrees with the content's magic bytes. Only declared types of formats
 * Wharf recognises are judged: JSON (and {@code +json} types), ZIP, MCAP, GZIP, PNG, JPEG and PDF must sniff
 * as that format; the JSON Lines types accept content that sniffs as JSON, text or empty. Any other declared
 * type, {@code application/octet-stream} and no declared type at all always pass. JSON is recognised from
 * the first {@value TypeSniffer#HEAD_BYTES} bytes, so a JSON document preceded by more whitespace than that
 * is reported as text.
 *
 * <p>Learned: {@code sniffed_format}, the sniffed type's name in lower case.
 */
public final class DeclaredTypeValidator implements Validator {

  private static final Map<String, Set<SniffedType>> EXPECTED = Map.ofEntries(
      Map.entry("application/json", EnumSet.of(SniffedType.JSON)),
      Map.entry("application/zip", EnumSet.of(SniffedType.ZIP)),
      Map.entry("application/x-zip-compressed", EnumSet.of(SniffedType.ZIP)),
      Map.entry("application/x-mcap", EnumSet.of(SniffedType.MCAP)),
      Map.entry("application/gzip", EnumSet.of(SniffedType.GZIP)),
      Map.entry("application/x-gzip", EnumSet.of(SniffedType.GZIP)),
      Map.entry("image/png", EnumSet.of(SniffedType.PNG)),
      Map.entry("image/jpeg", EnumSet.of(SniffedType.JPEG)),
      Map.entry("application/pdf", EnumSet.of(SniffedType.PDF)));

  private static final Set<SniffedType> JSON_LINES =
      EnumSet.of(SniffedType.JSON, SniffedType.TEXT, SniffedType.EMPTY);

  @Override
  public String name() {
    return "declared-type";
  }

  @Override
  public boolean appliesTo(ContentFacts facts) {
    return true;
  }

  @Override
  public Check start(ContentFacts facts) {
    Set<SniffedType> expected = expectedFor(facts);
    SniffedType sniffed = facts.sniffed();
    if (expected != null && !expected.contains(sniffed)) {
      return new SettledCheck(Findings.invalid(name(),
          "declared " + facts.declaredType() + " but the content " + describe(sniffed)));
    }
    return new SettledCheck(Findings.valid(name(), Map.of("sniffed_format", sniffed.name().toLowerCase(Locale.ROOT))));
  }

  private static Set<SniffedType> expectedFor(ContentFacts facts) {
    if (facts.declaresJson()) {
      return EXPECTED.get("application/json");
    }
    if (facts.declaresJsonLines()) {
      return JSON_LINES;
    }
    return facts.declaredType() == null ? null : EXPECTED.get(facts.declaredType());
  }

  private static String describe(SniffedType sniffed) {
    return switch (sniffed) {
      case EMPTY -> "is empty";
      case BINARY -> "looks like unrecognised binary data";
      default -> "looks like " + sniffed.mediaType();
    };
  }
}
