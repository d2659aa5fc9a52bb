package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.agent;
import static dev.wharf.agent.AgentHarness.await;
import static dev.wharf.agent.AgentHarness.deliveryIn;
import static dev.wharf.agent.AgentHarness.env;
import static dev.wharf.agent.AgentHarness.eventually;
import static dev.wharf.agent.AgentHarness.stage;
import static dev.wharf.agent.AgentHarness.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.agent.AgentHarness.Run;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
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

/** {@code wharf-agent mqtt}: the inbox woken by the MQTT endpoint's notices, not by polling. */
@Timeout(120)
class MqttCommandTest {

  @TempDir
  Path tmp;

  @Test
  void noticeWakesTheAgentWhichFetchesAndAcks() throws Exception {
    TestStack stack = AgentHarness.stack();
    Tenant t = await(stack.newTenant());
    String waiting = stage(stack.client, t, t.deviceA(), Map.of("early.txt", Buffer.buffer("early"))).get(0);
    Map<String, String> env = env(url(stack), t.tokenA());
    env.put("WHARF_DEVICE_ID", t.deviceA());
    env.put("WHARF_MQTT_PORT", Integer.toString(stack.mqttPort));
    Path inbox = tmp.resolve("inbox");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    // The safety poll is an hour away: only a notice can explain a prompt ack.
    Thread agent = new Thread(() -> WharfAgent.run(new String[] {"mqtt", "--dir", inbox.toString(), "--poll-every", "1h"}, env,
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true)));
    agent.start();
    try {
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, waiting, "acked"));
      eventually(Duration.ofSeconds(30), () -> out.toString(StandardCharsets.UTF_8).contains("listening on wharf/d/" + t.deviceA() + "/inbox"));
      String notified = stage(stack.client, t, t.deviceA(), Map.of("late.txt", Buffer.buffer("late"))).get(0);
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, notified, "acked"));
      assertThat(Files.readString(inbox.resolve("late.txt"))).isEqualTo("late");
    } finally {
      agent.interrupt();
      agent.join(30_000);
    }
    assertThat(agent.isAlive()).isFalse();
  }

  @Test
  void wrongTokenIsRefusedAsExit3() throws Exception {
    TestStack stack = AgentHarness.stack();
    Tenant t = await(stack.newTenant());
    Map<String, String> env = env(url(stack), t.tokenB());
    env.put("WHARF_DEVICE_ID", t.deviceA());
    env.put("WHARF_MQTT_PORT", Integer.toString(stack.mqttPort));

    Run run = agent(env, "mqtt", "--dir", tmp.toString());

    assertThat(run.exit()).as(run.err()).isEqualTo(Exit.UNAUTHORIZED.code);
  }
}
