package dev.wharf.ingest.validate;

/**
 * Content that is not the archive it claims to be; carried through a Future and turned into invalid
 * {@link Findings}, never shown as a server error. It has no stack trace: it is an answer, not a fault.
 */
final class BrokenArchive extends RuntimeException {

  BrokenArchive(String detail) {
    super(detail, null, false, false);
  }
}
