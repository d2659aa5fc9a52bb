package dev.wharf.gateway.faults;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One request written as raw bytes on a fresh socket (so malformed HTTP can be sent) and the first final answer read
 * back: enough of HTTP/1.1 framing (Content-Length, chunked, close-delimited, 1xx skipped) to know where it ends.
 */
final class RawHttp {

  /** Status of an answer that never came because the server closed (or reset) the connection. */
  static final int CLOSED = -1;
  /** Status when the server kept the connection open without answering (it still waits for bytes we never send). */
  static final int HELD = -2;

  record Answer(int status, Map<String, String> headers, byte[] body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private RawHttp() {
  }

  static Answer exchange(int port, byte[] request, boolean headRequest, int readTimeoutMs) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout(readTimeoutMs);
      try {
        socket.getOutputStream().write(request);
        socket.getOutputStream().flush();
      } catch (SocketException e) {
        // The server may close while we still write (e.g. an oversized head refused early): read what it said.
      }
      InputStream in = socket.getInputStream();
      try {
        while (true) {
          Answer a = readOne(in, headRequest);
          if (a.status() < 100 || a.status() >= 200 || a.status() == 101) {
            return a;
          }
        }
      } catch (SocketTimeoutException e) {
        return new Answer(HELD, Map.of(), new byte[0]);
      } catch (SocketException e) {
        return new Answer(CLOSED, Map.of(), new byte[0]);
      }
    }
  }

  private static Answer readOne(InputStream in, boolean headRequest) throws IOException {
    String statusLine = line(in);
    if (statusLine == null) {
      return new Answer(CLOSED, Map.of(), new byte[0]);
    }
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
      throw new IOException("not an HTTP answer: " + statusLine);
    }
    int status = Integer.parseInt(parts[1]);
    Map<String, String> headers = new TreeMap<>();
    String h;
    while ((h = line(in)) != null && !h.isEmpty()) {
      int colon = h.indexOf(':');
      if (colon > 0) {
        headers.merge(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim(), (a, b) -> a + ", " + b);
      }
    }
    if (status < 200 || status == 204 || status == 304 || headRequest) {
      return new Answer(status, headers, new byte[0]);
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    String length = headers.get("content-length");
    if ("chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""))) {
      String size;
      while ((size = line(in)) != null) {
        int n = Integer.parseInt(size.split(";")[0].trim(), 16);
        if (n == 0) {
          while ((h = line(in)) != null && !h.isEmpty()) {
            // trailers
          }
          break;
        }
        body.write(in.readNBytes(n));
        line(in);
      }
    } else if (length != null) {
      body.write(in.readNBytes(Integer.parseInt(length)));
    } else {
      body.write(in.readAllBytes());
    }
    return new Answer(status, headers, body.toByteArray());
  }

  /** A CRLF-terminated line, or null at the end of the stream. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }
}
