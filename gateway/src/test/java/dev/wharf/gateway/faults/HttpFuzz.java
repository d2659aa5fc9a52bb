package dev.wharf.gateway.faults;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

/**
 * Generates fuzz requests for every route of the gateway from one {@link Random}: case {@code i} of seed {@code s} is
 * always the same bytes ({@link #raw(long, int)}), so a failing case is reproduced from the two numbers printed.
 *
 * <p>What varies: the method (the route's own, another, an extension token, an invalid one), the target (real ids,
 * another tenant's ids, bad percent-encodings, path traversal, absolute form, overlong lines, query garbage), the
 * version, the credentials (device, sender, admin, another tenant's, garbage, none), headers (random, duplicated,
 * oversized, malformed lines, tus and Range forms, method overrides), body framing (Content-Length right, wrong,
 * negative, duplicated; chunked, broken chunked, both, unknown codings) and bodies (random bytes, JSON with the
 * API's field names and hostile values, multipart with broken boundaries).
 */
final class HttpFuzz {

  /** What the generator may aim at: one tenant's real ids and tokens, and another tenant's. */
  record Targets(String tenant, String device, String deviceToken, String senderToken, String adminToken,
      String fileId, String jobId, String tusId, String otherTenant, String otherFileId, String otherToken) {}

  /** One case: the bytes to write, whether it is a HEAD (no body in the answer), and whether it may be held. */
  record Case(long seed, int index, String method, String target, byte[] bytes, boolean head, boolean mayHold, boolean badVersion) {
    String describe() {
      String t = target.length() > 120 ? target.substring(0, 120) + "…(" + target.length() + ")" : target;
      return "seed=" + seed + " case=" + index + " " + method + " " + t;
    }
  }

  private static final String[] ROUTES = {
      "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.yaml",
      "POST /v1/admin/tenants", "POST /v1/admin/tenants/{tenant}/devices", "POST /v1/admin/tenants/{tenant}/tokens",
      "DELETE /v1/admin/tenants/{tenant}/tokens/{id}", "GET /v1/admin/queues", "POST /v1/admin/jobs/{job}/retry",
      "POST /v1/devices/{device}/deliveries", "GET /v1/deliveries", "GET /v1/deliveries/{id}",
      "POST /v1/files", "GET /v1/files", "GET /v1/files/{file}", "GET /v1/files/{file}/content", "DELETE /v1/files/{file}",
      "GET /v1/files/{file}/events", "PUT /v1/grants/{id}",
      "GET /v1/inbox", "GET /v1/inbox/{id}/content", "POST /v1/inbox/{id}/ack", "POST /v1/inbox/{id}/reject",
      "GET /v1/jobs/{job}", "GET /v1/jobs", "POST /v1/jobs/{job}/cancel",
      "POST /v1/mqtt/auth", "POST /v1/mqtt/superuser", "POST /v1/mqtt/acl",
      "OPTIONS /v1/tus", "OPTIONS /v1/tus/{tus}", "POST /v1/tus", "POST /v1/tus/{tus}", "HEAD /v1/tus/{tus}",
      "PATCH /v1/tus/{tus}", "DELETE /v1/tus/{tus}",
      "POST /v1/uploads", "GET /v1/uploads/{id}", "POST /v1/uploads/{id}/parts", "POST /v1/uploads/{id}/complete",
      "DELETE /v1/uploads/{id}", "PUT /v1/uploads/{id}/parts/{n}",
      "POST /v1/uploads/{id}/pause", "POST /v1/uploads/{id}/resume"};

  private static final String[] METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
      "PROPFIND", "FOO", "get", "G-E_T", "M-SEARCH"};
  private static final String[] BAD_METHODS = {"", "GE T", "G\tET", "GÉT", "\u0000GET", "GET\r", "(GET)", "GET;", "{}",
      "X".repeat(300)};
  private static final String[] IDS = {"..", "../..", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e", "%", "%z", "%zz", "%0",
      "%00", "%c0%af", "%ff%fe", "%u002e", "a%2Fb", "a;b", "a?b=c", "%3F", "a b", "-1", "0", "99999999999999999999",
      "00000000-0000-0000-0000-000000000000", "null", "undefined", "%E2%80%AE", "ü", "%F0%9F%92%A9", "*", "~", "$(id)",
      "'; DROP TABLE files;--", "<script>", "\\..\\..", "..\\", "%5c..%5c", "%252e%252e", "wh_g_", "wh_g_%00", "\u00a0"};
  private static final String[] FILENAMES = {"../../etc/passwd", "..\\..\\boot.ini", "/abs/path", "a/b/c.txt", "", " ",
      ".", "..", "con", "nul.txt", "a\u0000b", "%2e%2e%2fx", "x".repeat(300), "ü".repeat(200), "\u202Eexe.txt", "a\r\nX-Evil: 1",
      "😀.bin", "f?.x", "*", "name\"quote"};
  private static final String[] RANGES = {"bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-0", "bytes=5-1", "bytes=0-1,2-3",
      "bytes=0-1, 1-2, -5", "bytes=99999999999999999999-", "bytes=-99999999999999999999", "bytes=0-99999999999999999999",
      "bytes=", "bytes", "bytes=-", "bytes=a-b", "bytes=1--2", "bytes=--1", "items=0-1", "bytes=0-1;q=1", " bytes = 0 - 1 ",
      "bytes=9223372036854775807-", "bytes=-9223372036854775808", "bytes=1-0", "BYTES=0-1", "bytes=0-1,", ",", "bytes=0x10-"};
  private static final String[] NUMBERS = {"0", "1", "-1", "abc", "", " 5", "5 ", "1e3", "0x10", "99999999999999999999",
      "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "+1", "00000000000000000001", "٣"};
  private static final String[] CONTENT_TYPES = {"application/json", "application/json; charset=utf-8", "text/plain",
      "application/octet-stream", "application/offset+octet-stream", "multipart/form-data", "multipart/form-data; boundary=",
      "multipart/form-data; boundary=\"", "multipart/form-data; boundary=" + "b".repeat(200), "multipart/mixed; boundary=x",
      "application/x-www-form-urlencoded", "*/*", "", ";;;", "application/problem+json", "image/png",
      "multipart/form-data; boundary=abc; boundary=def"};
  private static final String[] FIELDS = {"filename", "size", "content_type", "sha256", "parts", "part_number", "reason",
      "device", "file_ids", "scopes", "id", "priority", "etag", "metadata", "ttl_seconds", "label", "wait", "limit", "name",
      "username", "password", "topic", "issue_token", "kind", "status", "expected_sha256", "declared_length", "part_size"};
  private static final String[] OVERRIDES = {"DELETE", "PUT", "PATCH", "GET", "HEAD", "TRACE", "", "DELETE, PATCH", "x".repeat(100),
      "PATCH\u0000"};
  private static final String[] QUERIES = {"limit=-1", "limit=0", "limit=abc", "limit=99999999999", "cursor=%zz", "cursor=abc",
      "cursor=", "wait=0", "wait=-5", "wait=abc", "wait=0.5", "status=nope", "status=processed", "device=../x", "a=%", "a",
      "=", "&&&", "limit=1&limit=2", "%00=%00", "kind=x", "state=queued", "since=yesterday"};

  private final Targets t;

  HttpFuzz(Targets targets) {
    this.t = targets;
  }

  /** Case {@code index} of {@code seed}: the same every time. */
  Case raw(long seed, int index) {
    Random r = new Random(seed * 1_000_003L + index);
    String route = pick(r, ROUTES);
    String routeMethod = route.substring(0, route.indexOf(' '));
    String method = switch (r.nextInt(10)) {
      case 0, 1 -> pick(r, METHODS);
      case 2 -> pick(r, BAD_METHODS);
      default -> routeMethod;
    };
    String path = fill(r, route.substring(route.indexOf(' ') + 1));
    String target = mutateTarget(r, path);
    String version = r.nextInt(20) == 0 ? pick(r, new String[] {"HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1 ", "http/1.1", "HTTP/1", "", "HTTP/1.1\u0000"})
        : "HTTP/1.1";
    List<String[]> headers = new ArrayList<>();
    if (r.nextInt(30) != 0) {
      headers.add(new String[] {"Host", r.nextInt(30) == 0 ? pick(r, new String[] {"", "a b", "x".repeat(300), "[::1", "h:99999"}) : "127.0.0.1"});
    }
    auth(r, headers);
    extraHeaders(r, headers);
    byte[] body = body(r, headers);
    boolean mayHold = framing(r, headers, body);
    if (r.nextInt(40) == 0) {
      headers.add(new String[] {"X-Big", "b".repeat(16 * 1024 + r.nextInt(8 * 1024))});
    }
    headers.add(new String[] {"Connection", "close"});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    write(out, method + " " + target + (version.isEmpty() ? "" : " " + version) + "\r\n");
    for (String[] h : headers) {
      write(out, h[0] + (h.length > 2 ? h[2] : ": ") + h[1] + "\r\n");
    }
    if (r.nextInt(50) == 0) {
      write(out, pick(r, new String[] {"NoColonHere\r\n", " folded: continuation\r\n", "Bad Name: x\r\n", ": empty-name\r\n",
          "X-Nul: a\u0000b\r\n", "\r"}));
    }
    write(out, "\r\n");
    if (headers.stream().anyMatch(h -> h[0].equals("Transfer-Encoding") && h[1].contains("chunked"))) {
      chunked(r, out, body);
    } else {
      out.writeBytes(body);
    }
    boolean badVersion = !version.equals("HTTP/1.1") && !version.equals("HTTP/1.0");
    return new Case(seed, index, method, target, out.toByteArray(), "HEAD".equals(method), mayHold, badVersion);
  }

  private String fill(Random r, String template) {
    String p = template;
    p = p.replace("{tenant}", r.nextInt(4) == 0 ? idGarbage(r) : r.nextBoolean() ? t.tenant() : t.otherTenant());
    p = p.replace("{device}", r.nextInt(4) == 0 ? idGarbage(r) : r.nextBoolean() ? t.device() : "dev-b");
    p = p.replace("{file}", switch (r.nextInt(4)) {
      case 0 -> idGarbage(r);
      case 1 -> t.otherFileId();
      default -> t.fileId();
    });
    p = p.replace("{job}", r.nextInt(3) == 0 ? idGarbage(r) : t.jobId());
    p = p.replace("{tus}", switch (r.nextInt(4)) {
      case 0 -> idGarbage(r);
      case 1 -> t.fileId();
      default -> t.tusId();
    });
    p = p.replace("{n}", r.nextInt(2) == 0 ? idGarbage(r) : Integer.toString(r.nextInt(4)));
    p = p.replace("{id}", r.nextInt(2) == 0 ? idGarbage(r) : r.nextBoolean() ? t.fileId() : java.util.UUID.randomUUID().toString());
    return p;
  }

  private static String idGarbage(Random r) {
    return switch (r.nextInt(5)) {
      case 0 -> "x".repeat(1 + r.nextInt(600));
      case 1 -> randomChars(r, 1 + r.nextInt(40), "abc%/.-_~:@!$&'()*+,;=");
      default -> pick(r, IDS);
    };
  }

  private static String mutateTarget(Random r, String path) {
    String target = path;
    switch (r.nextInt(25)) {
      case 0 -> target = "http://127.0.0.1" + path;
      case 1 -> target = "*";
      case 2 -> target = path + "/" + "a".repeat(8 * 1024 + r.nextInt(4096));
      case 3 -> target = path.replace("/v1/", "/v1//");
      case 4 -> target = path.replace("/v1/", "/v1/./../v1/");
      case 5 -> target = path + "%";
      case 6 -> target = path.toUpperCase();
      case 7 -> target = path + "/";
      case 8 -> target = "";
      case 9 -> target = path.replace("/", "%2F");
      default -> { }
    }
    if (r.nextInt(3) == 0) {
      StringBuilder q = new StringBuilder("?");
      for (int i = 0, n = 1 + r.nextInt(3); i < n; i++) {
        q.append(i == 0 ? "" : "&").append(pick(r, QUERIES));
      }
      if (!q.toString().contains("wait=")) {
        q.append("&wait=0");
      }
      target += q;
    } else if (path.startsWith("/v1/inbox") && !path.contains("/content")) {
      target += "?wait=0";
    }
    return target;
  }

  private void auth(Random r, List<String[]> h) {
    String token = switch (r.nextInt(12)) {
      case 0, 1, 2, 3 -> t.deviceToken();
      case 4, 5 -> t.senderToken();
      case 6 -> t.adminToken();
      case 7 -> t.otherToken();
      case 8 -> null;
      case 9 -> "wh_" + randomChars(r, r.nextInt(80), "abcdefghijklmnopqrstuvwxyz0123456789_-");
      case 10 -> "x".repeat(5_000 + r.nextInt(8_000));
      default -> randomChars(r, r.nextInt(30), " \t\"'=,;:%ü\u0001");
    };
    if (token == null) {
      return;
    }
    String scheme = r.nextInt(10) == 0 ? pick(r, new String[] {"Basic ", "bearer ", "Bearer  ", "", "Token ", "BEARER "}) : "Bearer ";
    h.add(new String[] {"Authorization", scheme + token});
    if (r.nextInt(15) == 0) {
      h.add(new String[] {"Authorization", "Bearer " + (r.nextBoolean() ? t.otherToken() : t.deviceToken())});
    }
  }

  private static void extraHeaders(Random r, List<String[]> h) {
    for (int i = 0, n = r.nextInt(5); i < n; i++) {
      switch (r.nextInt(16)) {
        case 0 -> h.add(new String[] {"Range", pick(r, RANGES)});
        case 1 -> h.add(new String[] {"If-Range", r.nextBoolean() ? "\"etag\"" : "Wed, 21 Oct 2015 07:28:00 GMT"});
        case 2 -> h.add(new String[] {"Tus-Resumable", pick(r, new String[] {"1.0.0", "0.2.2", "", "x"})});
        case 3 -> h.add(new String[] {"Upload-Length", pick(r, NUMBERS)});
        case 4 -> h.add(new String[] {"Upload-Offset", pick(r, NUMBERS)});
        case 5 -> h.add(new String[] {"Upload-Metadata", metadata(r)});
        case 6 -> h.add(new String[] {"X-HTTP-Method-Override", pick(r, OVERRIDES)});
        case 7 -> h.add(new String[] {"X-Wharf-Filename", pick(r, FILENAMES)});
        case 8 -> h.add(new String[] {"X-Wharf-Priority", pick(r, new String[] {"urgent", "normal", "low", "", "URGENT", "-1", "x".repeat(100)})});
        case 9 -> h.add(new String[] {"Idempotency-Key", r.nextBoolean() ? randomChars(r, 1 + r.nextInt(300), "ab-_%ü ") : ""});
        case 10 -> h.add(new String[] {"X-Wharf-Checksum-SHA256", r.nextBoolean() ? "zz" : "0".repeat(64)});
        case 11 -> h.add(new String[] {"Upload-Checksum", pick(r, new String[] {"sha1 abc", "sha256", "md5 ====", ""})});
        case 12 -> h.add(new String[] {"Expect", pick(r, new String[] {"100-continue", "200-ok", ""})});
        case 13 -> h.add(new String[] {"Upload-Defer-Length", pick(r, NUMBERS)});
        case 14 -> h.add(new String[] {"X-Request-Id", randomChars(r, r.nextInt(100), "abc\"'<>%")});
        default -> h.add(new String[] {randomChars(r, 1 + r.nextInt(20), "abcXYZ-_"), randomChars(r, r.nextInt(60), "abc ;=,\"")});
      }
      if (r.nextInt(8) == 0 && !h.isEmpty()) {
        h.add(h.get(r.nextInt(h.size())).clone());
      }
    }
  }

  private static String metadata(Random r) {
    return switch (r.nextInt(6)) {
      case 0 -> "filename " + Base64.getEncoder().encodeToString(pick(r, FILENAMES).getBytes(StandardCharsets.UTF_8));
      case 1 -> "filename !!!notbase64";
      case 2 -> "filename";
      case 3 -> ",,,";
      case 4 -> "a b c, d e f";
      default -> "filename " + "A".repeat(1 + r.nextInt(9000));
    };
  }

  private byte[] body(Random r, List<String[]> h) {
    String ct = r.nextInt(4) == 0 ? null : pick(r, CONTENT_TYPES);
    if (ct != null) {
      h.add(new String[] {"Content-Type", ct});
    }
    return switch (r.nextInt(6)) {
      case 0 -> new byte[0];
      case 1 -> {
        byte[] b = new byte[r.nextInt(r.nextInt(20) == 0 ? 200_000 : 2_000)];
        r.nextBytes(b);
        yield b;
      }
      case 2 -> multipart(r, ct);
      default -> json(r).getBytes(StandardCharsets.UTF_8);
    };
  }

  private byte[] multipart(Random r, String ct) {
    String boundary = ct != null && ct.contains("boundary=") ? ct.substring(ct.indexOf("boundary=") + 9) : "b0undary";
    if (r.nextBoolean()) {
      boundary = randomChars(r, r.nextInt(80), "ab-'\"");
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0, n = r.nextInt(4); i < n; i++) {
      b.append("--").append(boundary).append("\r\n");
      b.append("Content-Disposition: form-data; name=\"").append(r.nextBoolean() ? "file" : pick(r, FIELDS)).append('"');
      if (r.nextBoolean()) {
        b.append("; filename=\"").append(pick(r, FILENAMES)).append('"');
      }
      b.append("\r\n");
      if (r.nextBoolean()) {
        b.append("Content-Type: ").append(pick(r, CONTENT_TYPES)).append("\r\n");
      }
      b.append("\r\n").append(r.nextBoolean() ? json(r) : randomChars(r, r.nextInt(500), "abc\r\n-")).append("\r\n");
    }
    if (r.nextBoolean()) {
      b.append("--").append(boundary).append("--\r\n");
    }
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }

  private String json(Random r) {
    if (r.nextInt(6) == 0) {
      return pick(r, new String[] {"{", "[]", "null", "\"x\"", "{\"a\":}", "{\"filename\":\"a\"", "1e999999", "{}", "[[[[[[[[[[[[",
          "{\"a\":" + "[".repeat(5000) + "}", "\uFEFF{}"});
    }
    StringBuilder b = new StringBuilder("{");
    for (int i = 0, n = r.nextInt(6); i < n; i++) {
      b.append(i == 0 ? "" : ",").append('"').append(pick(r, FIELDS)).append("\":").append(value(r, 0));
    }
    return b.append('}').toString();
  }

  private String value(Random r, int depth) {
    return switch (r.nextInt(depth > 2 ? 8 : 10)) {
      case 0 -> "null";
      case 1 -> Boolean.toString(r.nextBoolean());
      case 2 -> pick(r, NUMBERS).isEmpty() ? "0" : (pick(r, new String[] {"-1", "0", "1e308", "-0", "3.7", "99999999999999999999999", "9223372036854775807"}));
      case 3 -> '"' + pick(r, FILENAMES).replace("\\", "\\\\").replace("\"", "\\\"").replace("\u0000", "\\u0000").replace("\r", "\\r").replace("\n", "\\n") + '"';
      case 4 -> '"' + (r.nextBoolean() ? t.fileId() : t.otherFileId()) + '"';
      case 5 -> '"' + pick(r, new String[] {"deliver", "read", "upload", "admin", "", "x".repeat(1000)}) + '"';
      case 6 -> "\"" + randomChars(r, r.nextInt(40), "ab\\u00") + "\"";
      case 7 -> '"' + (r.nextBoolean() ? t.otherTenant() : t.tenant()) + '"';
      case 8 -> "[" + value(r, depth + 1) + "," + value(r, depth + 1) + "]";
      default -> "{\"" + pick(r, FIELDS) + "\":" + value(r, depth + 1) + "}";
    };
  }

  /** Adds framing headers; true when the server may rightly keep waiting for bytes that never come. */
  private static boolean framing(Random r, List<String[]> h, byte[] body) {
    switch (r.nextInt(20)) {
      case 0 -> {
        h.add(new String[] {"Transfer-Encoding", "chunked"});
        return true;
      }
      case 1 -> {
        h.add(new String[] {"Transfer-Encoding", pick(r, new String[] {"gzip", "chunked, gzip", "gzip, chunked", "identity", "chunked, chunked", "xchunked", " chunked"})});
        return true;
      }
      case 2 -> {
        h.add(new String[] {"Transfer-Encoding", "chunked"});
        h.add(new String[] {"Content-Length", Integer.toString(body.length)});
        return true;
      }
      case 3 -> {
        h.add(new String[] {"Content-Length", pick(r, new String[] {"-1", "abc", "", "1e3", "0x10", "99999999999999999999", " 5", "+5"})});
        return true;
      }
      case 4 -> {
        h.add(new String[] {"Content-Length", Integer.toString(body.length)});
        h.add(new String[] {"Content-Length", Integer.toString(body.length + 1)});
        return true;
      }
      case 5 -> {
        // Fewer bytes declared than sent: the rest is a second (garbage) request on the same connection.
        h.add(new String[] {"Content-Length", Integer.toString(body.length / 2)});
        return false;
      }
      case 6 -> {
        // More declared than sent: the server rightly waits for the rest (bounded by its idle timeout).
        if (r.nextInt(4) == 0) {
          h.add(new String[] {"Content-Length", Integer.toString(body.length + 1 + r.nextInt(100))});
          return true;
        }
        h.add(new String[] {"Content-Length", Integer.toString(body.length)});
        return false;
      }
      default -> {
        if (body.length > 0 || r.nextBoolean()) {
          h.add(new String[] {"Content-Length", Integer.toString(body.length)});
        }
        return false;
      }
    }
  }

  private static void chunked(Random r, ByteArrayOutputStream out, byte[] body) {
    int at = 0;
    while (at < body.length) {
      int n = Math.min(body.length - at, 1 + r.nextInt(4096));
      String size = r.nextInt(30) == 0 ? pick(r, new String[] {"zz", "-1", "fffffffffffffffff", "", Integer.toHexString(n + 5)})
          : Integer.toHexString(n);
      write(out, size + (r.nextInt(20) == 0 ? ";ext=1" : "") + "\r\n");
      out.write(body, at, n);
      write(out, "\r\n");
      at += n;
    }
    if (r.nextInt(10) != 0) {
      write(out, "0\r\n" + (r.nextInt(20) == 0 ? "X-Trailer: 1\r\n" : "") + "\r\n");
    }
  }

  /** A well-formed request of case {@code index} for {@code java.net.http} (which refuses malformed ones). */
  record Structured(String method, String pathAndQuery, List<String[]> headers, byte[] body) {}

  Structured structured(long seed, int index) {
    Random r = new Random(~(seed * 1_000_003L + index));
    String route = pick(r, ROUTES);
    String method = r.nextInt(5) == 0 ? pick(r, new String[] {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "FOO"})
        : route.substring(0, route.indexOf(' '));
    String path = fill(r, route.substring(route.indexOf(' ') + 1));
    if (r.nextInt(3) == 0) {
      path += "?" + pick(r, QUERIES);
    }
    if (path.startsWith("/v1/inbox") && !path.contains("wait=")) {
      path += (path.contains("?") ? "&" : "?") + "wait=0";
    }
    List<String[]> headers = new ArrayList<>();
    auth(r, headers);
    extraHeaders(r, headers);
    byte[] body = body(r, headers);
    return new Structured(method, path, headers, body);
  }

  static String randomChars(Random r, int n, String alphabet) {
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  static <T> T pick(Random r, T[] values) {
    return values[r.nextInt(values.length)];
  }

  private static void write(ByteArrayOutputStream out, String s) {
    out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
  }
}
