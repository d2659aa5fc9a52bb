package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.agent;
import static dev.wharf.agent.AgentHarness.await;
import static dev.wharf.agent.AgentHarness.deliveryIn;
import static dev.wharf.agent.AgentHarness.env;
import static dev.wharf.agent.AgentHarness.eventually;
import static dev.wharf.agent.AgentHarness.senderView;
import static dev.wharf.agent.AgentHarness.stage;
import static dev.wharf.agent.AgentHarness.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.agent.AgentHarness.Run;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.buffer.Buffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code wharf-agent inbox} against a real gateway: drain, ack, reject, hooks, resume after a cut, refusals. */
@Timeout(120)
class InboxCommandTest {

  static TestStack stack;
  Tenant t;
  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    stack = AgentHarness.stack();
  }

  @BeforeEach
  void tenant() throws Exception {
    t = await(stack.newTenant());
  }

  private Map<String, String> deviceEnv() {
    return env(url(stack), t.tokenA());
  }

  @Test
  void onceDrainsTheInboxAndAcksEachFileOnceItIsOnDisk() throws Exception {
    Map<String, Buffer> files = new LinkedHashMap<>();
    files.put("mission.json", Buffer.buffer("{\"go\":true}"));
    files.put("map.pgm", Buffer.buffer(AgentHarness.randomBytes(300_000, 1)));
    List<String> ids = stage(stack.client, t, t.deviceA(), files);
    Path inbox = tmp.resolve("inbox");

    Run run = agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(Files.readString(inbox.resolve("mission.json"))).isEqualTo("{\"go\":true}");
    assertThat(Files.readAllBytes(inbox.resolve("map.pgm"))).isEqualTo(AgentHarness.randomBytes(300_000, 1));
    try (Stream<Path> left = Files.list(inbox)) {
      assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("mission.json", "map.pgm");
    }
    for (String id : ids) {
      assertThat(senderView(stack.client, t, id).getString("state")).isEqualTo("acked");
    }
    assertThat(run.out()).contains("acked " + ids.get(0), "acked " + ids.get(1));
  }

  @Test
  void commandExitingNonZeroRejectsWithTheTailOfItsStderr() throws Exception {
    Path seen = tmp.resolve("seen");
    Path hook = script("hook.sh", "#!/bin/sh\n"
        + "echo \"$WHARF_DELIVERY_ID $WHARF_DELIVERY_FILENAME $WHARF_DELIVERY_SHA256 $WHARF_DELIVERY_SIZE ${WHARF_DEVICE_TOKEN:-no-token} $1\" >> "
        + seen + "\n"
        + "case \"$1\" in *bad.txt) echo 'checking bad.txt' >&2; echo 'boom: unreadable mission' >&2; exit 3;; esac\n"
        + "exit 0\n");
    Map<String, Buffer> files = new LinkedHashMap<>();
    files.put("good.txt", Buffer.buffer("fine"));
    files.put("bad.txt", Buffer.buffer("broken"));
    List<String> ids = stage(stack.client, t, t.deviceA(), files);
    Path inbox = tmp.resolve("inbox");

    Run run = agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--exec", hook.toString(), "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(senderView(stack.client, t, ids.get(0)).getString("state")).isEqualTo("acked");
    var bad = senderView(stack.client, t, ids.get(1));
    assertThat(bad.getString("state")).isEqualTo("rejected");
    assertThat(bad.getString("reject_reason")).startsWith("exit 3: ").contains("boom: unreadable mission");
    List<String> lines = Files.readAllLines(seen);
    assertThat(lines).hasSize(2);
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("fine".getBytes()));
    assertThat(lines.get(0)).isEqualTo(ids.get(0) + " good.txt " + sha + " 4 no-token " + inbox.resolve("good.txt"));
    assertThat(run.err()).contains("boom: unreadable mission");
  }

  @Test
  void commandThatCannotRunStopsBeforeTakingAnyDelivery() throws Exception {
    String id = stage(stack.client, t, t.deviceA(), Map.of("a.txt", Buffer.buffer("a"))).get(0);
    Path notExecutable = Files.writeString(tmp.resolve("plain.sh"), "#!/bin/sh\nexit 0\n");

    Run missing = agent(deviceEnv(), "inbox", "--dir", tmp.resolve("in").toString(), "--exec", "/nowhere/handler", "--once");
    Run plain = agent(deviceEnv(), "inbox", "--dir", tmp.resolve("in").toString(), "--exec", notExecutable.toString(), "--once");

    assertThat(missing.exit()).isEqualTo(Exit.EXEC_FAILED.code);
    assertThat(missing.err().strip()).isEqualTo("wharf-agent: --exec command not found or not executable: /nowhere/handler");
    assertThat(plain.exit()).isEqualTo(Exit.EXEC_FAILED.code);
    assertThat(senderView(stack.client, t, id).getString("state")).isEqualTo("staged");
  }

  @Test
  void commandThatHangsIsKilledAfterTheTimeoutAndTheDeliveryRejected() throws Exception {
    Path hook = script("slow.sh", "#!/bin/sh\necho 'thinking…' >&2\nsleep 60\n");
    String id = stage(stack.client, t, t.deviceA(), Map.of("slow.txt", Buffer.buffer("zzz"))).get(0);

    Run run = agent(deviceEnv(), "inbox", "--dir", tmp.resolve("in").toString(), "--exec", hook.toString(), "--exec-timeout", "1s",
        "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    var view = senderView(stack.client, t, id);
    assertThat(view.getString("state")).isEqualTo("rejected");
    assertThat(view.getString("reject_reason")).startsWith("timed out, killed: thinking…");
  }

  @Test
  void fetchCutMidBodyResumesWithRangeAndStoresTheWholeFile() throws Exception {
    byte[] content = AgentHarness.randomBytes(3 * 1024 * 1024, 7);
    String id = stage(stack.client, t, t.deviceA(), Map.of("big.bin", Buffer.buffer(content))).get(0);
    Path inbox = tmp.resolve("inbox");
    try (CuttingProxy proxy = new CuttingProxy(stack.port, 1024 * 1024)) {
      Run run = agent(env("http://127.0.0.1:" + proxy.port(), t.tokenA()), "inbox", "--dir", inbox.toString(), "--once",
          "--max-backoff", "200ms");

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(proxy.hasCut()).isTrue();
      assertThat(run.err()).contains("fetch of " + id + " cut at");
      List<String> contentRequests = proxy.requests.stream().filter(r -> r.startsWith("GET /v1/inbox/" + id + "/content")).toList();
      assertThat(contentRequests).hasSize(2);
      assertThat(contentRequests.get(0)).doesNotContainIgnoringCase("range:");
      assertThat(contentRequests.get(1)).containsIgnoringCase("range: bytes=").containsIgnoringCase("if-range:");
      long resumedAt = Long.parseLong(contentRequests.get(1).replaceAll("(?is).*range: bytes=(\\d+)-.*", "$1"));
      assertThat(resumedAt).isGreaterThan(0).isLessThan(content.length);
    }
    assertThat(Files.readAllBytes(inbox.resolve("big.bin"))).isEqualTo(content);
    assertThat(senderView(stack.client, t, id).getString("state")).isEqualTo("acked");
  }

  @Test
  void fetchThatGoesSilentIsDroppedAfterTheStallTimeoutAndResumed() throws Exception {
    byte[] content = AgentHarness.randomBytes(2 * 1024 * 1024, 9);
    String id = stage(stack.client, t, t.deviceA(), Map.of("quiet.bin", Buffer.buffer(content))).get(0);
    Path inbox = tmp.resolve("inbox");
    try (CuttingProxy proxy = new CuttingProxy(stack.port, 512 * 1024, true)) {
      Run run = agent(env("http://127.0.0.1:" + proxy.port(), t.tokenA()), "inbox", "--dir", inbox.toString(), "--once",
          "--stall-timeout", "1s", "--max-backoff", "200ms");

      assertThat(run.exit()).as(run.err()).isZero();
      assertThat(run.err()).contains("fetch of " + id + " stalled for");
      assertThat(proxy.requests.stream().filter(r -> r.startsWith("GET /v1/inbox/" + id + "/content")).toList()).hasSize(2);
    }
    assertThat(Files.readAllBytes(inbox.resolve("quiet.bin"))).isEqualTo(content);
  }

  @Test
  void fileAlreadyInTheFolderWithTheRightSha256IsNotFetchedAgain() throws Exception {
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("mission.json"), "{\"v\":1}");
    String id = stage(stack.client, t, t.deviceA(), Map.of("mission.json", Buffer.buffer("{\"v\":1}"))).get(0);

    Run run = agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("present " + id);
    // Never fetched: the gateway still has fetched_at empty, and the delivery is acked.
    var view = senderView(stack.client, t, id);
    assertThat(view.getString("state")).isEqualTo("acked");
    assertThat(view.getString("fetched_at")).isNull();
  }

  @Test
  void partialFileOfADeliveryNoLongerInTheInboxIsDropped() throws Exception {
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Path stale = Files.writeString(inbox.resolve(".wharf-" + java.util.UUID.randomUUID() + ".part"), "half of something");

    Run run = agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(stale).doesNotExist();
  }

  @Test
  void anotherFileHoldingTheNameIsNotOverwritten() throws Exception {
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("mission.json"), "old mission");
    String id = stage(stack.client, t, t.deviceA(), Map.of("mission.json", Buffer.buffer("new mission"))).get(0);

    Run run = agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--once");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(Files.readString(inbox.resolve("mission.json"))).isEqualTo("old mission");
    assertThat(Files.readString(inbox.resolve("mission." + id.substring(0, 8) + ".json"))).isEqualTo("new mission");
  }

  @Test
  void notEnoughRoomLeavesTheDeliveryUnacked() throws Exception {
    String id = stage(stack.client, t, t.deviceA(), Map.of("a.txt", Buffer.buffer("abc"))).get(0);

    Run run = agent(deviceEnv(), "inbox", "--dir", tmp.resolve("in").toString(), "--once", "--keep-free", "1000000TiB");

    assertThat(run.exit()).isEqualTo(Exit.LOCAL_STORAGE.code);
    assertThat(run.err().strip()).startsWith("wharf-agent: not enough space in ").doesNotContain("\n");
    assertThat(senderView(stack.client, t, id).getString("state")).isIn("staged", "fetched");
  }

  @Test
  void folderThatCannotBeWrittenIsExit6() throws Exception {
    Path file = Files.writeString(tmp.resolve("not-a-folder"), "x");

    Run run = agent(deviceEnv(), "inbox", "--dir", file.toString(), "--once");

    assertThat(run.exit()).isEqualTo(Exit.LOCAL_STORAGE.code);
  }

  @Test
  void unknownOrRevokedTokenIsExit3WithOneLine() throws Exception {
    Run unknown = agent(env(url(stack), "wh_d_not-a-real-token"), "inbox", "--dir", tmp.toString(), "--once");
    Run missing = agent(env(url(stack), null), "inbox", "--dir", tmp.toString(), "--once");

    assertThat(unknown.exit()).isEqualTo(Exit.UNAUTHORIZED.code);
    assertThat(unknown.err().strip()).startsWith("wharf-agent: the gateway refused the device token (401)").doesNotContain("\n");
    assertThat(missing.exit()).isEqualTo(Exit.UNAUTHORIZED.code);
    assertThat(missing.err().strip()).isEqualTo("wharf-agent: no device token: set WHARF_DEVICE_TOKEN or pass --token");
  }

  @Test
  void wrongUrlIsExit4AndUnreachableGatewayIsExit5() throws Exception {
    Run notWharf = agent(env(url(stack) + "/not-wharf", t.tokenA()), "inbox", "--dir", tmp.toString(), "--once");
    Run malformed = agent(env("localhost:8080", t.tokenA()), "inbox", "--dir", tmp.toString(), "--once");
    Run down = agent(env("http://127.0.0.1:" + TestStack.freePort(), t.tokenA()), "inbox", "--dir", tmp.toString(), "--once",
        "--retry-for", "1s", "--max-backoff", "200ms");

    assertThat(notWharf.exit()).as(notWharf.err()).isEqualTo(Exit.BAD_URL.code);
    assertThat(malformed.exit()).isEqualTo(Exit.BAD_URL.code);
    assertThat(down.exit()).isEqualTo(Exit.UNREACHABLE.code);
    assertThat(down.err().strip().lines().reduce((a, b) -> b).orElse("")).startsWith("wharf-agent: gateway http://127.0.0.1:")
        .contains("unreachable for 1.0 s");
  }

  @Test
  void loopRunsUntilStoppedAndPicksUpNewDeliveries() throws Exception {
    Path inbox = tmp.resolve("inbox");
    Thread loop = new Thread(() -> agent(deviceEnv(), "inbox", "--dir", inbox.toString(), "--wait", "2", "--max-backoff", "200ms"));
    loop.start();
    try {
      String first = stage(stack.client, t, t.deviceA(), Map.of("one.txt", Buffer.buffer("1"))).get(0);
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, first, "acked"));
      String second = stage(stack.client, t, t.deviceA(), Map.of("two.txt", Buffer.buffer("2"))).get(0);
      eventually(Duration.ofSeconds(30), deliveryIn(stack.client, t, second, "acked"));
      assertThat(Files.readString(inbox.resolve("two.txt"))).isEqualTo("2");
    } finally {
      loop.interrupt();
      loop.join(30_000);
    }
    assertThat(loop.isAlive()).isFalse();
  }

  private Path script(String name, String text) throws Exception {
    Path p = Files.writeString(tmp.resolve(name), text);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }
}
