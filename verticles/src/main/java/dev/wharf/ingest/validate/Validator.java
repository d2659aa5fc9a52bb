package dev.wharf.ingest.validate;

/**
 * One content check. A validator says which files it applies to and starts a {@link Check} per file; the
 * ingest worker streams the object through every check that applies, in one pass. Adding a format is
 * adding one class and listing it in {@link Validators#standard}.
 */
public interface Validator {

  /** A short name shown in findings and errors, e.g. {@code jsonl}. */
  String name();

  /** Whether this validator checks the described file. */
  boolean appliesTo(ContentFacts facts);

  /** Starts checking one file. */
  Check start(ContentFacts facts);
}
