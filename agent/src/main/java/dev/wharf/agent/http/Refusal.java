package dev.wharf.agent.http;

/**
 * A gateway answer that retrying will not change: a 4xx (other than 401/403, which end the command at once)
 * with the problem+json {@code code} and {@code detail} it carried.
 */
public final class Refusal extends RuntimeException {

  private final int status;
  private final String code;
  private final String detail;

  public Refusal(int status, String code, String detail) {
    super(status + (code == null ? "" : " " + code) + (detail == null ? "" : ": " + detail));
    this.status = status;
    this.code = code;
    this.detail = detail;
  }

  public int status() {
    return status;
  }

  /** The problem's stable code, or null when the body was not problem+json. */
  public String code() {
    return code;
  }

  public String detail() {
    return detail;
  }
}
