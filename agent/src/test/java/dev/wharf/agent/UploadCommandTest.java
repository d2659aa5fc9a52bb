package dev.wharf.agent;

import static dev.wharf.agent.AgentHarness.agent;
import static dev.wharf.agent.AgentHarness.env;
import static dev.wharf.agent.AgentHarness.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.agent.AgentHarness.Run;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code wharf-agent upload}: resumable tus uploads, across a killed agent process, changed files and refusals. */
@Timeout(180)
class UploadCommandTest {

  private static final String TOKEN = "wh_d_stub-device-token";
  private static final long MAX = 64L * 1024 * 1024;

  @TempDir
  Path tmp;
  TusStub gateway;
  Path state;

  @BeforeEach
  void start() throws Exception {
    gateway = new TusStub(TOKEN, MAX, Files.createDirectories(tmp.resolve("stub")));
    state = tmp.resolve("state");
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private Map<String, String> deviceEnv() {
    return env(gateway.url(), TOKEN);
  }

  private Run upload(String... args) {
    List<String> all = new ArrayList<>(List.of("upload", "--state-dir", state.toString(), "--progress", "lines"));
    all.addAll(List.of(args));
    return agent(deviceEnv(), all.toArray(String[]::new));
  }

  private Path file(String name, int size, long seed) throws Exception {
    return Files.write(tmp.resolve(name), AgentHarness.randomBytes(size, seed));
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static String lastLine(String text) {
    return text.strip().lines().reduce((a, b) -> b).orElse("");
  }

  @Test
  void uploadSendsTheWholeFileInChunksAndPrintsTheFileId() throws Exception {
    Path big = file("big.bin", 3 * 1024 * 1024 + 17, 1);

    Run run = upload(big.toString(), "--chunk-size", "1MiB");

    assertThat(run.exit()).as(run.err()).isZero();
    String id = lastLine(run.out());
    TusStub.Upload stored = gateway.uploads.get(id);
    assertThat(stored.completed).isTrue();
    assertThat(stored.sha256).isEqualTo(sha256(big));
    assertThat(Files.readAllBytes(stored.data)).isEqualTo(Files.readAllBytes(big));
    assertThat(run.out()).contains("big.bin: 1048576 of 3145745 bytes (33%)", "big.bin: 3145745 of 3145745 bytes (100%)",
        "uploaded big.bin as " + id);
  }

  @Test
  void rerunAfterTheAgentProcessWasKilledResumesAndMakesOneFile() throws Exception {
    Path big = file("big.bin", 12 * 1024 * 1024, 2);
    long committed = killMidUpload(big);

    Run again = upload(big.toString(), "--chunk-size", "1MiB");

    assertThat(again.exit()).as(again.err()).isZero();
    Matcher resumed = Pattern.compile("resuming big\\.bin at (\\d+) of 12582912 bytes").matcher(again.out());
    assertThat(resumed.find()).as(again.out()).isTrue();
    assertThat(Long.parseLong(resumed.group(1))).isGreaterThanOrEqualTo(committed).isLessThan(12582912);
    assertThat(gateway.uploads).hasSize(1);
    assertThat(gateway.completedCount()).isEqualTo(1);
    TusStub.Upload stored = gateway.uploads.get(lastLine(again.out()));
    assertThat(Files.readAllBytes(stored.data)).isEqualTo(Files.readAllBytes(big));
  }

  @Test
  void rerunOfACompletedUploadSendsNothing() throws Exception {
    Path small = file("small.bin", 1000, 3);
    Run first = upload(small.toString());

    Run second = upload(small.toString());

    assertThat(second.exit()).isZero();
    assertThat(second.out()).contains("small.bin already uploaded as " + lastLine(first.out()));
    assertThat(lastLine(second.out())).isEqualTo(lastLine(first.out()));
    assertThat(gateway.uploads).hasSize(1);
  }

  @Test
  void fileChangedSinceTheKilledAttemptStartsOverAndSaysSo() throws Exception {
    Path big = file("big.bin", 12 * 1024 * 1024, 4);
    killMidUpload(big);
    String abandoned = gateway.uploads.keySet().iterator().next();
    Files.write(big, new byte[] {1, 2, 3}, StandardOpenOption.APPEND);

    Run again = upload(big.toString(), "--chunk-size", "1MiB");

    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("big.bin changed since the last attempt (size or mtime differ); starting over")
        .doesNotContain("resuming");
    assertThat(gateway.uploads).doesNotContainKey(abandoned).hasSize(1);
    assertThat(gateway.uploads.get(lastLine(again.out())).sha256).isEqualTo(sha256(big));
  }

  @Test
  void uploadTheGatewayForgotStartsOverAndSaysSo() throws Exception {
    Path big = file("big.bin", 12 * 1024 * 1024, 8);
    killMidUpload(big);
    gateway.uploads.clear();

    Run again = upload(big.toString(), "--chunk-size", "4MiB");

    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("big.bin: the gateway no longer knows the upload (expired); starting over");
    assertThat(gateway.completedCount()).isEqualTo(1);
    assertThat(gateway.uploads.get(lastLine(again.out())).sha256).isEqualTo(sha256(big));
  }

  @Test
  void fileChangingWhileBeingUploadedIsExit8() throws Exception {
    Path big = file("big.bin", 8 * 1024 * 1024, 5);
    Run[] result = new Run[1];
    Thread uploader = new Thread(() -> result[0] = upload(big.toString(), "--chunk-size", "512KiB", "--rate-limit", "2MiB"));
    uploader.start();
    eventually(Duration.ofSeconds(30), () -> gateway.uploads.values().stream().anyMatch(u -> u.offset > 0));
    Files.write(big, new byte[] {9}, StandardOpenOption.APPEND);
    Files.setLastModifiedTime(big, FileTime.fromMillis(System.currentTimeMillis() + 5000));
    uploader.join(60_000);

    assertThat(result[0].exit()).as(result[0].out() + result[0].err()).isEqualTo(Exit.FILE_CHANGED.code);
    assertThat(lastLine(result[0].err())).contains("changed while being uploaded");
    assertThat(gateway.uploads).isEmpty();
  }

  @Test
  void oversizeFileIsExit9AndSendsNoBytes() throws Exception {
    Path huge = tmp.resolve("huge.bin");
    try (RandomAccessFile raf = new RandomAccessFile(huge.toFile(), "rw")) {
      raf.setLength(MAX + 1);
    }

    Run run = upload(huge.toString());

    assertThat(run.exit()).isEqualTo(Exit.TOO_LARGE.code);
    assertThat(run.err().strip()).startsWith("wharf-agent: huge.bin (64.0 MiB) is larger than the gateway accepts").doesNotContain("\n");
    assertThat(gateway.uploads).isEmpty();
  }

  @Test
  void missingFileIsExit12AndWaitReportsTheOutcome() throws Exception {
    Run missing = upload(tmp.resolve("nope.bin").toString());
    Path small = file("small.bin", 100, 6);
    Run waited = upload(small.toString(), "--wait");

    assertThat(missing.exit()).isEqualTo(Exit.BAD_FILE.code);
    assertThat(waited.exit()).as(waited.err()).isZero();
    assertThat(waited.out()).contains("small.bin: processed");
  }

  /** Starts the agent as a child JVM and kills it once it reported at least 2 MiB committed; answers that offset. */
  private long killMidUpload(Path big) throws Exception {
    long committed = ChildAgent.killMidUpload(deviceEnv(), big, state, 2 * 1024 * 1024);
    assertThat(gateway.completedCount()).isZero();
    return committed;
  }
}
