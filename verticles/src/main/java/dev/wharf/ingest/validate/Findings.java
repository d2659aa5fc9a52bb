package dev.wharf.ingest.validate;

import java.util.Map;

/**
 * The outcome of one check: valid with what was learned (line count, entry count…), or invalid with a
 * detail a person can act on ("line 17 is not a JSON object").
 */
public record Findings(String validator, boolean valid, String detail, Map<String, Object> learned) {

  public static Findings valid(String validator, Map<String, Object> learned) {
    return new Findings(validator, true, null, Map.copyOf(learned));
  }

  public static Findings invalid(String validator, String detail) {
    return new Findings(validator, false, detail, Map.of());
  }
}
