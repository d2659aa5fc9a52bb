package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.await;
import static dev.wharf.agent.AgentHarness.deliveryIn;
import static dev.wharf.agent.AgentHarness.eventually;
import static dev.wharf.agent.AgentHarness.stage;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import dev.wharf.gateway.WharfApp;
import dev.wharf.gateway.config.WharfConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inbox loop outlives its gateway: a second gateway process on the shared servers is stopped while the
 * agent loops against it and started again on the same port; the agent backs off, reconnects and handles
 * what was staged meanwhile.
 */
@Timeout(180)
class InboxGatewayRestartTest {

  @TempDir
  Path tmp;

  @Test
  void loopSurvivesAGatewayRestart() throws Exception {
    TestStack stack = AgentHarness.stack();
    Tenant t = await(stack.newTenant());
    int port = TestStack.freePort();
    Vertx vertx = Vertx.vertx();
    WharfConfig config = WharfConfig.load(null, TestStack.env(stack.servers, port, Map.of()));
    WharfApp gateway = await(WharfApp.start(vertx, config));
    Path inbox = tmp.resolve("inbox");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Thread loop = new Thread(() -> WharfAgent.run(new String[] {"inbox", "--dir", inbox.toString(), "--wait", "2", "--max-backoff", "300ms"},
        AgentHarness.env("http://127.0.0.1:" + port, t.tokenA()), new PrintStream(new ByteArrayOutputStream(), true),
        new PrintStream(err, true, StandardCharsets.UTF_8)));
    loop.start();
    try {
      String before = stage(stack.client, t, t.deviceA(), Map.of("before.txt", Buffer.buffer("before"))).get(0);
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, before, "acked"));

      await(gateway.stop());
      // Staged through the other gateway while this one is down: the agent must find it once it is back.
      String during = stage(stack.client, t, t.deviceA(), Map.of("during.txt", Buffer.buffer("during"))).get(0);
      eventually(Duration.ofSeconds(30), () -> err.toString(StandardCharsets.UTF_8).contains("connection refused; retrying in"));
      assertThat(AgentHarness.senderView(stack.client, t, during).getString("state")).isEqualTo("staged");

      gateway = await(WharfApp.start(vertx, config));
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, during, "acked"));
      assertThat(Files.readString(inbox.resolve("during.txt"))).isEqualTo("during");
    } finally {
      loop.interrupt();
      loop.join(30_000);
      await(gateway.stop());
      vertx.close();
    }
    assertThat(loop.isAlive()).isFalse();
  }
}
