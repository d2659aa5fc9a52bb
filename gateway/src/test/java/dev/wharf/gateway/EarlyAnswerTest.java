package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An upload refused before its body is read (here: a bad token) still gets its answer while the client goes on
 * sending: the gateway reads and drops the rest of the body before it closes the connection, so the close is a
 * clean one and not a reset that can destroy the answer in flight (the client would see the connection drop
 * without a status, as the PostgreSQL fault scenario once did with early 503s).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EarlyAnswerTest {

  private static final int BODY = 4 * 1024 * 1024;

  @Test
  void aRefusalSentBeforeTheBodyWasReadReachesTheClientWhileItIsStillSending() throws Exception {
    TestStack stack = TestStack.get();
    for (int round = 0; round < 5; round++) {
      try (Socket socket = new Socket("127.0.0.1", stack.port)) {
        socket.setSoTimeout(20_000);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wh_not_a_token\r\nX-Wharf-Filename: big.bin\r\n"
            + "Content-Type: application/octet-stream\r\nContent-Length: " + BODY + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        // The body goes out from another thread while this one reads the answer, as a streaming client does.
        CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
          byte[] chunk = new byte[64 * 1024];
          try {
            for (int sent = 0; sent < BODY; sent += chunk.length) {
              out.write(chunk);
            }
            out.flush();
          } catch (IOException closedByTheServer) {
            // Expected once the server stops draining; the answer is what counts.
          }
        });
        String head = readHead(socket.getInputStream());
        assertThat(head).startsWith("HTTP/1.1 401");
        assertThat(head.toLowerCase()).contains("connection: close");
        sending.get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the connection ended before the answer's head: " + head.toString(StandardCharsets.US_ASCII));
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }
}
