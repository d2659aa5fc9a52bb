package dev.wharf.agent;

/**
 * The agent's exit codes, one per kind of trouble, so a script or a systemd unit can tell them apart. The
 * README's "For devices" section lists them; keep the two in step.
 */
public enum Exit {
  OK(0, "done"),
  FAILED(1, "unexpected error (a bug, or an answer the agent does not understand)"),
  USAGE(2, "bad command line"),
  UNAUTHORIZED(3, "the device token is missing, unknown or revoked (401/403)"),
  BAD_URL(4, "WHARF_URL is missing or malformed, or does not answer like a Wharf gateway"),
  UNREACHABLE(5, "the gateway could not be reached (network errors or 503) within --retry-for"),
  LOCAL_STORAGE(6, "the inbox folder cannot take the file (disk full, not writable)"),
  EXEC_FAILED(7, "the --exec command cannot be run (not found or not executable)"),
  FILE_CHANGED(8, "a file changed while it was being uploaded"),
  TOO_LARGE(9, "the gateway refused the file as too large (413)"),
  INGEST_FAILED(10, "the gateway verified the upload and marked it failed (--wait)"),
  REFUSED(11, "the gateway refused the request for another reason (a 4xx: not found, bad input, checksum)"),
  BAD_FILE(12, "a local file to upload is missing or unreadable");

  public final int code;
  public final String meaning;

  Exit(int code, String meaning) {
    this.code = code;
    this.meaning = meaning;
  }
}
