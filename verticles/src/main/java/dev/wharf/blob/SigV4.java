package dev.wharf.blob;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

/**
 * AWS Signature Version 4 for S3's data requests, in the {@code Authorization} header: service {@code s3},
 * payload {@code UNSIGNED-PAYLOAD}, and S3's canonical URI rules (the path is signed as it is sent, already
 * encoded once: no double URL-encoding and no path normalisation). It signs the method, the path, the query
 * parameters (encoded per SigV4: RFC 3986 unreserved characters as they are, every other byte of their UTF-8
 * as upper-case {@code %XX}; sorted by encoded key, then value) and the headers the request carries:
 * {@code host}, {@code x-amz-content-sha256}, {@code x-amz-date}, {@code x-amz-security-token} for session
 * credentials, and whatever the caller adds ({@code content-type}, {@code range}).
 *
 * <p>It does not presign (query-string authentication), sign chunked ({@code aws-chunked}) bodies, hash
 * payloads or sign for another service; {@link S3Http} needs none of that, and the SDK's signer covers it.
 *
 * <p>Written for speed next to the SDK's signer, which builds request objects and derives the signing key
 * (four HMAC-SHA256 rounds) per request: the key is derived once per UTC day, secret key and region and
 * kept in an immutable holder, replaced when the date or the credentials change; the HMAC and SHA-256
 * instances are per thread. No locks: safe to call from several event loops at once. A test checks the
 * output byte for byte against the SDK's {@code AwsV4HttpSigner}.
 */
final class SigV4 {

  static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
  private static final String ALGORITHM = "AWS4-HMAC-SHA256";
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  private static final char[] HEX_UPPER = "0123456789ABCDEF".toCharArray();
  private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });

  /** The signing key of one day, secret key and region, with the credential scope it signs for. */
  private record SigningKey(long epochDay, String secret, String scope, SecretKeySpec key) {}

  private final String region;
  private final Clock clock;
  private volatile SigningKey signingKey;

  SigV4(String region, Clock clock) {
    this.region = region;
    this.clock = clock;
  }

  /** The value of the signed {@code Host} header: the port only when it is not the scheme's default, as the SDK does. */
  static String hostHeader(String host, int port, boolean ssl) {
    return port <= 0 || port == (ssl ? 443 : 80) ? host : host + ":" + port;
  }

  /**
   * Signs a request at the clock's present time. {@code headers} are the request's own headers to sign and
   * send ({@code Content-Type}, {@code Range}; names in any case); {@code query} is raw (not yet encoded).
   * Answers every header to send, in this order: {@code Host}, {@code x-amz-content-sha256},
   * {@code X-Amz-Date}, {@code X-Amz-Security-Token} (session credentials only), {@code headers}, and
   * {@code Authorization}.
   */
  Map<String, String> sign(AwsCredentialsIdentity creds, String method, String hostHeader, String encodedPath,
      Map<String, String> query, Map<String, String> headers) {
    Instant now = clock.instant();
    LocalDateTime utc = LocalDateTime.ofEpochSecond(now.getEpochSecond(), 0, ZoneOffset.UTC);
    SigningKey key = signingKey(creds.secretAccessKey(), utc);
    String amzDate = new StringBuilder(16).append(key.scope, 0, 8).append('T')
        .append(twoDigits(utc.getHour())).append(twoDigits(utc.getMinute())).append(twoDigits(utc.getSecond()))
        .append('Z').toString();

    Map<String, String> send = new LinkedHashMap<>();
    send.put("Host", hostHeader);
    send.put("x-amz-content-sha256", UNSIGNED_PAYLOAD);
    send.put("X-Amz-Date", amzDate);
    if (creds instanceof AwsSessionCredentialsIdentity session) {
      send.put("X-Amz-Security-Token", session.sessionToken());
    }
    send.putAll(headers);

    List<String[]> canonical = new ArrayList<>(send.size());
    for (Map.Entry<String, String> header : send.entrySet()) {
      canonical.add(new String[] {header.getKey().toLowerCase(java.util.Locale.ROOT), trimAll(header.getValue())});
    }
    canonical.sort((a, b) -> a[0].compareTo(b[0]));
    StringBuilder request = new StringBuilder(256).append(method).append('\n')
        .append(encodedPath.isEmpty() ? "/" : encodedPath).append('\n');
    canonicalQuery(request, query).append('\n');
    StringBuilder signedHeaders = new StringBuilder(96);
    for (String[] header : canonical) {
      request.append(header[0]).append(':').append(header[1]).append('\n');
      signedHeaders.append(signedHeaders.isEmpty() ? "" : ";").append(header[0]);
    }
    request.append('\n').append(signedHeaders).append('\n').append(UNSIGNED_PAYLOAD);

    String stringToSign = ALGORITHM + '\n' + amzDate + '\n' + key.scope + '\n'
        + hex(SHA256.get().digest(request.toString().getBytes(StandardCharsets.UTF_8)));
    String signature = hex(hmac(key.key, stringToSign));
    send.put("Authorization", ALGORITHM + " Credential=" + creds.accessKeyId() + '/' + key.scope
        + ", SignedHeaders=" + signedHeaders + ", Signature=" + signature);
    return send;
  }

  /** The cached key when it is of this day and secret; a freshly derived one (then cached) otherwise. */
  private SigningKey signingKey(String secret, LocalDateTime utc) {
    long day = utc.toLocalDate().toEpochDay();
    SigningKey current = signingKey;
    if (current != null && current.epochDay == day && current.secret.equals(secret)) {
      return current;
    }
    String date = String.format("%04d%02d%02d", utc.getYear(), utc.getMonthValue(), utc.getDayOfMonth());
    byte[] key = hmac(new SecretKeySpec(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), "HmacSHA256"), date);
    key = hmac(new SecretKeySpec(key, "HmacSHA256"), region);
    key = hmac(new SecretKeySpec(key, "HmacSHA256"), "s3");
    key = hmac(new SecretKeySpec(key, "HmacSHA256"), "aws4_request");
    SigningKey fresh = new SigningKey(day, secret, date + '/' + region + "/s3/aws4_request", new SecretKeySpec(key, "HmacSHA256"));
    // Racing threads may each derive it; all derive the same key, so whichever write lands last is right.
    signingKey = fresh;
    return fresh;
  }

  /** The SigV4 canonical query string: keys and values encoded, sorted by key then value, joined by '&'. */
  private static StringBuilder canonicalQuery(StringBuilder out, Map<String, String> query) {
    List<String[]> params = new ArrayList<>(query.size());
    for (Map.Entry<String, String> param : query.entrySet()) {
      if (param.getKey() != null && !param.getKey().isEmpty()) {
        params.add(new String[] {encode(param.getKey()), encode(param.getValue() == null ? "" : param.getValue())});
      }
    }
    params.sort((a, b) -> {
      int byKey = a[0].compareTo(b[0]);
      return byKey != 0 ? byKey : a[1].compareTo(b[1]);
    });
    for (int i = 0; i < params.size(); i++) {
      out.append(i == 0 ? "" : "&").append(params.get(i)[0]).append('=').append(params.get(i)[1]);
    }
    return out;
  }

  /** RFC 3986 percent-encoding of the UTF-8 bytes of {@code value}: unreserved characters stay, the rest %XX. */
  static String encode(String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length + 16);
    for (byte b : bytes) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == '~') {
        out.append(c);
      } else {
        out.append('%').append(HEX_UPPER[c >> 4]).append(HEX_UPPER[c & 0xf]);
      }
    }
    return out.toString();
  }

  /** The value without leading and trailing whitespace, inner runs of it collapsed to one space (as the SDK does). */
  private static String trimAll(String value) {
    StringBuilder out = new StringBuilder(value.length());
    boolean pendingSpace = false;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == ' ' || (c >= '\t' && c <= '\r')) {
        pendingSpace = !out.isEmpty();
      } else {
        if (pendingSpace) {
          out.append(' ');
          pendingSpace = false;
        }
        out.append(c);
      }
    }
    return out.toString();
  }

  private static byte[] hmac(SecretKeySpec key, String data) {
    Mac mac = HMAC.get();
    try {
      mac.init(key);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  private static String twoDigits(int value) {
    return value < 10 ? "0" + value : Integer.toString(value);
  }

  private static String hex(byte[] bytes) {
    char[] out = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(out);
  }
}
