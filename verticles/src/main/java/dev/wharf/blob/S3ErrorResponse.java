package dev.wharf.blob;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An S3 error answer to a data request sent over the Vert.x client: the HTTP status and, when the body is
 * S3's XML error document, its {@code Code} and {@code Message} (e.g. {@code 404 NoSuchKey}).
 */
final class S3ErrorResponse extends RuntimeException {

  private static final Pattern CODE = Pattern.compile("<Code>([^<]*)</Code>");
  private static final Pattern MESSAGE = Pattern.compile("<Message>([^<]*)</Message>");
  private static final Pattern REQUEST_ID = Pattern.compile("<RequestId>([^<]*)</RequestId>");

  private final int status;
  private final String code;

  private S3ErrorResponse(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  /** From the status and body of an S3 answer; a body that is not S3's error XML leaves the code null. */
  static S3ErrorResponse of(String method, int status, String body) {
    String code = first(CODE, body);
    String detail = first(MESSAGE, body);
    String requestId = first(REQUEST_ID, body);
    StringBuilder message = new StringBuilder("S3 answered ").append(method).append(' ').append(status);
    if (code != null) {
      message.append(' ').append(code);
    }
    if (detail != null && !detail.isBlank()) {
      message.append(": ").append(detail);
    }
    if (requestId != null) {
      message.append(" (request id ").append(requestId).append(')');
    }
    return new S3ErrorResponse(status, code, message.toString());
  }

  int status() {
    return status;
  }

  /** S3's error code ({@code NoSuchKey}, {@code NoSuchUpload}, {@code SlowDown}, …), or null. */
  String code() {
    return code;
  }

  /** Worth another attempt: a server error or throttling (500, 502, 503, 504, SlowDown). */
  boolean retryable() {
    return status >= 500 || "SlowDown".equals(code) || "RequestTimeout".equals(code);
  }

  private static String first(Pattern pattern, String body) {
    if (body == null) {
      return null;
    }
    Matcher m = pattern.matcher(body);
    return m.find() ? m.group(1) : null;
  }
}
