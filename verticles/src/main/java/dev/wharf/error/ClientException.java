package dev.wharf.error;

/** The caller did something wrong (4xx). Logged without a stack trace. */
public final class ClientException extends WharfException {

  public ClientException(int status, String code, String message) {
    super(status, code, message, null);
  }

  public static ClientException badRequest(String code, String message) {
    return new ClientException(400, code, message);
  }

  public static ClientException unauthorized(String message) {
    return new ClientException(401, "unauthorized", message);
  }

  public static ClientException forbidden(String message) {
    return new ClientException(403, "forbidden", message);
  }

  /** Absent and not-yours share this one answer, so nothing leaks across tenants. */
  public static ClientException notFound(String what) {
    return new ClientException(404, "not_found", what + " not found");
  }

  public static ClientException conflict(String code, String message) {
    return new ClientException(409, code, message);
  }

  public static ClientException tooLarge(String message) {
    return new ClientException(413, "payload_too_large", message);
  }

  public static ClientException unprocessable(String code, String message) {
    return new ClientException(422, code, message);
  }
}
