package dev.wharf.ingest.validate;

import java.util.List;

/** The validators Wharf runs on uploads. */
public final class Validators {

  private Validators() {}

  /**
   * Every validator Wharf knows, the declared-type check first so that a mismatch is the detail a user sees
   * before any format-specific complaint. Each decides for itself whether it {@linkplain
   * Validator#appliesTo applies} to a file.
   */
  public static List<Validator> standard(ValidationLimits limits) {
    return List.of(
        new DeclaredTypeValidator(),
        new JsonValidator(limits),
        new JsonLinesValidator(limits),
        new ZipValidator(limits),
        new McapValidator());
  }
}
