package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.agent;
import static dev.wharf.agent.AgentHarness.await;
import static dev.wharf.agent.AgentHarness.env;
import static dev.wharf.agent.AgentHarness.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.agent.AgentHarness.Run;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code wharf-agent status} and {@code files}, and a revoked token, against a real gateway. */
@Timeout(120)
class StatusAndFilesCommandTest {

  static TestStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = AgentHarness.stack();
  }

  private static String upload(String token, String name, String content) throws Exception {
    var resp = await(stack.client.post("/v1/files").bearerTokenAuthentication(token).putHeader("X-Wharf-Filename", name)
        .putHeader("Content-Type", "text/plain").sendBuffer(Buffer.buffer(content)));
    assertThat(resp.statusCode()).as(resp.bodyAsString()).isEqualTo(201);
    return resp.bodyAsJsonObject().getString("id");
  }

  @Test
  void statusShowsTheFileAndFilesListsEveryPage() throws Exception {
    Tenant t = await(stack.newTenant());
    String first = upload(t.tokenA(), "a.txt", "alpha");
    String second = upload(t.tokenA(), "b.txt", "beta");
    upload(t.tokenB(), "other-device.txt", "not mine");

    Run status = agent(env(url(stack), t.tokenA()), "status", first);
    Run json = agent(env(url(stack), t.tokenA()), "status", first, "--json");
    Run files = agent(env(url(stack), t.tokenA()), "files", "--status", "uploaded");

    assertThat(status.exit()).as(status.err()).isZero();
    assertThat(status.out()).startsWith(first).contains("uploaded", "a.txt");
    assertThat(new JsonObject(json.out().strip()).getString("sha256")).hasSize(64);
    assertThat(files.exit()).as(files.err()).isZero();
    assertThat(files.out().lines()).hasSize(2).anyMatch(l -> l.startsWith(first)).anyMatch(l -> l.startsWith(second));
    assertThat(files.out()).doesNotContain("other-device.txt");
  }

  @Test
  void unknownFileIsExit11AndAnotherDevicesFileLooksTheSame() throws Exception {
    Tenant t = await(stack.newTenant());
    String theirs = upload(t.tokenB(), "b.txt", "beta");

    Run unknown = agent(env(url(stack), t.tokenA()), "status", "00000000-0000-0000-0000-000000000000");
    Run notMine = agent(env(url(stack), t.tokenA()), "status", theirs);

    assertThat(unknown.exit()).isEqualTo(Exit.REFUSED.code);
    assertThat(notMine.exit()).isEqualTo(Exit.REFUSED.code);
    assertThat(notMine.err().strip()).isEqualTo("wharf-agent: no such file for this device: " + theirs);
  }

  @Test
  void revokedTokenIsExit3() throws Exception {
    Tenant t = await(stack.newTenant());
    JsonObject issued = await(stack.client.post("/v1/admin/tenants/" + t.id() + "/tokens").bearerTokenAuthentication(TestStack.ADMIN_TOKEN)
        .sendJsonObject(new JsonObject().put("device", t.deviceA()))).bodyAsJsonObject();
    String token = issued.getString("token");
    assertThat(agent(env(url(stack), token), "files").exit()).isZero();
    await(stack.client.delete("/v1/admin/tenants/" + t.id() + "/tokens/" + issued.getString("id")).bearerTokenAuthentication(TestStack.ADMIN_TOKEN).send());

    Run revoked = agent(env(url(stack), token), "files");

    assertThat(revoked.exit()).isEqualTo(Exit.UNAUTHORIZED.code);
    assertThat(revoked.err().strip()).startsWith("wharf-agent: the gateway refused the device token (401)");
  }

  @Test
  void everyCommandHasHelp() {
    for (String command : new String[] {"upload", "inbox", "mqtt", "status", "files"}) {
      Run help = agent(env(null, null), command, "--help");
      assertThat(help.exit()).isZero();
      assertThat(help.out()).startsWith("Usage: wharf-agent " + command);
    }
    Run top = agent(env(null, null), "--help");
    assertThat(top.out()).contains("Exit codes:", "12  a file to upload is missing or unreadable");
    assertThat(agent(env(null, null), "upload").exit()).isEqualTo(Exit.USAGE.code);
  }
}
