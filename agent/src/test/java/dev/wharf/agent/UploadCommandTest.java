package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.agent;
import static dev.wharf.agent.AgentHarness.await;
import static dev.wharf.agent.AgentHarness.env;
import static dev.wharf.agent.AgentHarness.url;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.agent.AgentHarness.Run;
import dev.wharf.gateway.TestStack;
import dev.wharf.gateway.TestStack.Tenant;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code wharf-agent upload} against the gateway's own {@code /v1/tus} on the embedded servers: the file
 * lands once, with the agent's SHA-256, after the agent process was killed and run again; a rerun of a
 * finished upload sends nothing; a changed file starts over; a forgotten upload starts over; a file that
 * changes mid-upload stops it; oversize is 413; {@code --wait} reports processed and failed.
 */
@Timeout(300)
class UploadCommandTest {

  static TestStack stack;
  static String workers;
  Tenant t;
  @TempDir
  Path tmp;
  Path state;

  @BeforeAll
  static void start() throws Exception {
    stack = AgentHarness.stack();
    String version = await(stack.client.request(io.vertx.core.http.HttpMethod.OPTIONS, "/v1/tus").send()).getHeader("Tus-Version");
    Assumptions.assumeTrue(version != null, "the gateway has no /v1/tus on this branch");
    workers = await(stack.startWorkers(2));
  }

  @AfterAll
  static void stop() throws Exception {
    if (workers != null) {
      await(stack.vertx.undeploy(workers));
    }
  }

  @BeforeEach
  void tenant() throws Exception {
    t = await(stack.newTenant());
    state = tmp.resolve("state");
  }

  private Map<String, String> deviceEnv() {
    return env(url(stack), t.tokenA());
  }

  private Run upload(String... args) {
    List<String> all = new ArrayList<>(List.of("upload", "--state-dir", state.toString(), "--progress", "lines"));
    all.addAll(List.of(args));
    return agent(deviceEnv(), all.toArray(String[]::new));
  }

  private JsonArray files() throws Exception {
    return await(stack.client.get("/v1/files").bearerTokenAuthentication(t.tokenA()).send()).bodyAsJsonObject().getJsonArray("items");
  }

  private JsonObject file(String id) throws Exception {
    return await(stack.client.get("/v1/files/" + id).bearerTokenAuthentication(t.tokenA()).send()).bodyAsJsonObject();
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    digest.update(Files.readAllBytes(file));
    return HexFormat.of().formatHex(digest.digest());
  }

  private static String lastLine(String text) {
    return text.strip().lines().reduce((a, b) -> b).orElse("");
  }

  @Test
  void uploadLandsAsOneVerifiedFileWithTheAgentsSha256() throws Exception {
    Path log = Files.writeString(tmp.resolve("run.jsonl"), "{\"t\":1}\n".repeat(400_000));

    Run run = upload(log.toString(), "--chunk-size", "1MiB", "--priority", "high", "--wait");

    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    assertThat(run.out()).contains("run.jsonl: processed");
    String id = run.out().lines().filter(l -> l.matches("[0-9a-f-]{36}")).findFirst().orElseThrow();
    JsonObject stored = file(id);
    assertThat(stored.getString("sha256")).isEqualTo(sha256(log));
    assertThat(stored.getLong("size")).isEqualTo(Files.size(log));
    assertThat(stored.getString("priority")).isEqualTo("high");
    assertThat(files()).hasSize(1);
  }

  @Test
  void rerunAfterTheAgentProcessWasKilledResumesIntoOneFile() throws Exception {
    Path big = Files.write(tmp.resolve("big.bin"), AgentHarness.randomBytes(16 * 1024 * 1024, 11));
    ChildAgent.killMidUpload(deviceEnv(), big, state, 8 * 1024 * 1024);

    Run again = upload(big.toString(), "--chunk-size", "1MiB");

    assertThat(again.exit()).as(again.out() + again.err()).isZero();
    Matcher resumed = Pattern.compile("resuming big\\.bin at (\\d+) of 16777216 bytes").matcher(again.out());
    assertThat(resumed.find()).as(again.out()).isTrue();
    assertThat(Long.parseLong(resumed.group(1))).isPositive().isLessThan(16777216);
    JsonArray all = files();
    assertThat(all).hasSize(1);
    assertThat(all.getJsonObject(0).getString("id")).isEqualTo(lastLine(again.out()));
    assertThat(all.getJsonObject(0).getString("sha256")).isEqualTo(sha256(big));
    assertThat(all.getJsonObject(0).getString("status")).isNotEqualTo("uploading");
  }

  @Test
  void fileChangedSinceTheKilledAttemptStartsOverAndSaysSo() throws Exception {
    Path big = Files.write(tmp.resolve("big.bin"), AgentHarness.randomBytes(12 * 1024 * 1024, 12));
    ChildAgent.killMidUpload(deviceEnv(), big, state, 2 * 1024 * 1024);
    Files.write(big, new byte[] {1, 2, 3}, StandardOpenOption.APPEND);

    Run again = upload(big.toString(), "--chunk-size", "4MiB");

    assertThat(again.exit()).as(again.out() + again.err()).isZero();
    assertThat(again.out()).contains("big.bin changed since the last attempt (size or mtime differ); starting over")
        .doesNotContain("resuming");
    JsonObject stored = file(lastLine(again.out()));
    assertThat(stored.getString("sha256")).isEqualTo(sha256(big));
    assertThat(files().stream().map(o -> ((JsonObject) o).getString("status")).filter(s -> !s.equals("uploading")).count()).isEqualTo(1);
  }

  @Test
  void rerunOfACompletedUploadSendsNothing() throws Exception {
    Path small = Files.writeString(tmp.resolve("small.txt"), "hello");
    Run first = upload(small.toString());

    Run second = upload(small.toString());

    assertThat(second.exit()).as(second.err()).isZero();
    assertThat(second.out()).contains("small.txt already uploaded as " + lastLine(first.out()));
    assertThat(lastLine(second.out())).isEqualTo(lastLine(first.out()));
    assertThat(files()).hasSize(1);
  }

  @Test
  void progressBarIsDrawnInPlaceOnATerminal() throws Exception {
    Path small = Files.write(tmp.resolve("bar.bin"), AgentHarness.randomBytes(3 * 1024 * 1024, 15));

    Run run = agent(deviceEnv(), "upload", small.toString(), "--state-dir", state.toString(), "--progress", "bar", "--chunk-size", "1MiB");

    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("\rbar.bin [##############################] 100% 3.0 MiB / 3.0 MiB")
        .doesNotContain("bar.bin: 1048576 of");
  }

  @Test
  void uploadTheGatewayNoLongerKnowsStartsOverAndSaysSo() throws Exception {
    Path big = Files.write(tmp.resolve("big.bin"), AgentHarness.randomBytes(12 * 1024 * 1024, 13));
    ChildAgent.killMidUpload(deviceEnv(), big, state, 2 * 1024 * 1024);
    String abandoned = files().getJsonObject(0).getString("id");
    // As the session sweeper does to an expired upload. The killed agent's PATCH may still hold the session's
    // lease until the gateway has seen its connection close (409 upload_locked meanwhile), so ask until it is free.
    int[] terminated = {0};
    await(stack.eventually(java.time.Duration.ofSeconds(30), () -> stack.client.delete("/v1/tus/" + abandoned)
        .bearerTokenAuthentication(t.tokenA()).putHeader("Tus-Resumable", "1.0.0").send()
        .map(resp -> (terminated[0] = resp.statusCode()) != 409)));
    assertThat(terminated[0]).isEqualTo(204);

    Run again = upload(big.toString(), "--chunk-size", "4MiB");

    assertThat(again.exit()).as(again.out() + again.err()).isZero();
    assertThat(again.out()).contains("big.bin: the gateway no longer knows the upload (expired); starting over");
    JsonArray all = files();
    assertThat(all).hasSize(1);
    assertThat(all.getJsonObject(0).getString("sha256")).isEqualTo(sha256(big));
  }

  @Test
  void fileChangingWhileBeingUploadedIsExit8AndTheUploadIsEnded() throws Exception {
    Path big = Files.write(tmp.resolve("big.bin"), AgentHarness.randomBytes(8 * 1024 * 1024, 14));
    Run[] result = new Run[1];
    Thread uploader = new Thread(() -> result[0] = upload(big.toString(), "--chunk-size", "512KiB", "--rate-limit", "2MiB"));
    uploader.start();
    AgentHarness.eventually(java.time.Duration.ofSeconds(30), () -> {
      try {
        return !files().isEmpty();
      } catch (Exception e) {
        return false;
      }
    });
    Files.write(big, new byte[] {9}, StandardOpenOption.APPEND);
    Files.setLastModifiedTime(big, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
    uploader.join(60_000);

    assertThat(result[0].exit()).as(result[0].out() + result[0].err()).isEqualTo(Exit.FILE_CHANGED.code);
    assertThat(lastLine(result[0].err())).contains("changed while being uploaded");
    assertThat(files()).isEmpty();
  }

  @Test
  void oversizeFileIsExit9AndLeavesNoFile() throws Exception {
    Path huge = tmp.resolve("huge.bin");
    try (RandomAccessFile raf = new RandomAccessFile(huge.toFile(), "rw")) {
      raf.setLength(64L * 1024 * 1024 + 1);
    }

    Run run = upload(huge.toString());

    assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(Exit.TOO_LARGE.code);
    assertThat(run.err().strip()).startsWith("wharf-agent: huge.bin (64.0 MiB) is larger than the gateway accepts").doesNotContain("\n");
    assertThat(files()).isEmpty();
  }

  @Test
  void failedVerificationIsExit10WithTheDetail() throws Exception {
    Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{\"ok\":1}\n{\"ok\":2}\nnot json at all\n");

    Run run = upload(bad.toString(), "--wait");

    assertThat(run.exit()).as(run.out() + run.err()).isEqualTo(Exit.INGEST_FAILED.code);
    assertThat(lastLine(run.err())).startsWith("wharf-agent: bad.jsonl (").contains("failed verification", "line 3");
  }

  @Test
  void unknownTokenIsExit3() throws Exception {
    Path small = Files.writeString(tmp.resolve("s.txt"), "x");

    Run run = agent(env(url(stack), "wh_d_nope"), "upload", small.toString(), "--state-dir", state.toString());

    assertThat(run.exit()).isEqualTo(Exit.UNAUTHORIZED.code);
  }
}
