package dev.wharf.gateway.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.LogCapture;
import dev.wharf.gateway.TestStack;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * MQTT clients that do not wait for the gateway: one that sends a PUBLISH right behind its CONNECT (MQTT 3.1.1
 * §3.1.4 allows it; Vert.x MQTT drops a packet that arrives before the connection is accepted, and the token check
 * is still running then, and closes the connection), and one that hangs up while its token is checked. Neither may
 * leave a stack trace in the gateway's log, which any unauthenticated client could otherwise fill.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MqttEarlyPacketsTest {

  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aPublishRightBehindConnectEndsTheConnectionWithOneLineAndNoStackTrace() throws Exception {
    TestStack stack = TestStack.get();
    // A fresh tenant: its token is not cached, so the CONNECT waits for PostgreSQL while the PUBLISH arrives.
    TestStack.Tenant t = TestStack.await(stack.newTenant());
    byte[] connect = MqttFuzzTest.connect(t.deviceA(), t.tokenA(), "early-publish", "MQTT", 4, 0x02);
    byte[] publish = MqttFuzzTest.publish("wharf/d/" + t.deviceA() + "/upload/request", "{}".getBytes(StandardCharsets.UTF_8), 0);
    try (LogCapture log = LogCapture.attach(); Socket socket = new Socket("127.0.0.1", stack.mqttPort)) {
      socket.setSoTimeout((int) WAIT.toMillis());
      OutputStream out = socket.getOutputStream();
      byte[] both = new byte[connect.length + publish.length];
      System.arraycopy(connect, 0, both, 0, connect.length);
      System.arraycopy(publish, 0, both, connect.length, publish.length);
      out.write(both);
      out.flush();
      // Vert.x MQTT drops the early PUBLISH and closes the connection; the client sees it end, without a CONNACK.
      InputStream in = socket.getInputStream();
      assertThat(in.readAllBytes()).as("no CONNACK before the end").isEmpty();

      assertThat(log.awaitLinesWith("client=early-publish", lines -> lines.stream()
          .anyMatch(l -> l.startsWith("mqtt connection gone before it was accepted")), WAIT)).isNotEmpty();
      assertThat(log.linesWith("nhandled exception")).isEmpty();
      // The drop itself is one INFO line, at most one a second for the whole process (another test's drops may
      // have used this second's); when it is there, it says what was dropped.
      assertThat(log.linesWith("mqtt packet dropped")).allMatch(l -> l.contains("CONNECT not sent yet")).hasSizeLessThanOrEqualTo(1);
    }
  }

  @Test
  void aClientGoneWhileItsTokenIsCheckedLeavesOneLineAndNoError() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = TestStack.await(stack.newTenant());
    byte[] connect = MqttFuzzTest.connect(t.deviceA(), t.tokenA(), "gone-early", "MQTT", 4, 0x02);
    try (LogCapture log = LogCapture.attach()) {
      try (Socket socket = new Socket("127.0.0.1", stack.mqttPort)) {
        socket.getOutputStream().write(connect);
        socket.getOutputStream().flush();
      }
      // The token check takes a PostgreSQL round trip; the close is usually there first. Either way the connection
      // ends with a line of its own and nothing unhandled.
      List<String> ended = log.awaitLinesWith("client=gone-early", lines -> lines.stream()
          .anyMatch(l -> l.startsWith("mqtt connection gone before it was accepted") || l.startsWith("device connection closed")), WAIT);
      assertThat(ended).anyMatch(l -> l.startsWith("mqtt connection gone before it was accepted") || l.startsWith("device connection closed"));
      assertThat(log.linesWith("nhandled exception")).isEmpty();
      assertThat(log.linesWith("MQTT endpoint is closed")).isEmpty();
    }
  }
}
