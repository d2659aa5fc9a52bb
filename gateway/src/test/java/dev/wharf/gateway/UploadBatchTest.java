package dev.wharf.gateway;

import static dev.wharf.gateway.TestStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.auth.Principal;
import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.files.FileRecord;
import dev.wharf.files.FileService;
import dev.wharf.files.FileService.UploadCommand;
import dev.wharf.files.FileService.Uploaded;
import dev.wharf.files.FileStatus;
import dev.wharf.files.FileStore;
import dev.wharf.files.Priority;
import io.vertx.core.Future;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uploads of one event-loop turn share their PostgreSQL statements (the {@code uploading} rows, then the
 * commits), and each upload still gets exactly the answer it would get alone: its own owner, name and bytes, and a
 * fault of one row fails that upload only.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UploadBatchTest {

  @TempDir
  Path dir;

  @Test
  void uploadsOfOneTurnShareTheirRowStatementAndEachKeepsItsOwnFile() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    TestStack.Tenant other = await(stack.newTenant());
    FileService files = stack.app.services().files();
    List<Principal> owners = List.of(device(t.id(), t.deviceA()), device(t.id(), t.deviceB()), device(other.id(), other.deviceA()),
        device(t.id(), t.deviceA()), device(other.id(), other.deviceB()), device(t.id(), t.deviceB()));
    List<String> contents = new ArrayList<>();
    List<Supplier<Future<Uploaded>>> calls = new ArrayList<>();
    for (int i = 0; i < owners.size(); i++) {
      String content = "{\"n\":" + i + ",\"tenant\":\"" + owners.get(i).tenantId() + "\"}";
      contents.add(content);
      calls.add(upload(stack, files, owners.get(i), "batch-" + i + ".json", content, Priority.values()[i % Priority.values().length]));
    }
    long inserts = files.insertStatements();
    List<Future<Uploaded>> answers = stack.onOneTurn(calls);
    joinAll(answers);

    assertThat(files.insertStatements()).as("six uploads of one turn, one insert").isEqualTo(inserts + 1);
    for (int i = 0; i < owners.size(); i++) {
      assertThat(answers.get(i).succeeded()).as("upload %d: %s", i, answers.get(i).cause()).isTrue();
      FileRecord file = answers.get(i).result().file();
      assertThat(file.tenantId()).isEqualTo(owners.get(i).tenantId());
      assertThat(file.deviceId()).isEqualTo(owners.get(i).deviceId());
      assertThat(file.filename()).isEqualTo("batch-" + i + ".json");
      assertThat(file.size()).isEqualTo(contents.get(i).length());
      assertThat(file.sha256()).isEqualTo(sha256(contents.get(i)));
      assertThat(file.priority()).isEqualTo(Priority.values()[i % Priority.values().length].band());
      assertThat(file.objectKey()).startsWith("t/" + owners.get(i).tenantId() + "/files/");
      assertThat(jobPriority(stack, answers.get(i).result().jobId())).isEqualTo(file.priority());
    }
    assertThat(objects(stack, other.id())).containsExactlyInAnyOrder(answers.get(2).result().file().objectKey(),
        answers.get(4).result().file().objectKey());
  }

  @Test
  void aRowPostgresRefusesFailsItsOwnUploadOnly() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    FileService files = stack.app.services().files();
    // A device that does not exist (deleted while its token was cached): its row breaks the devices foreign key.
    Principal gone = device(t.id(), "device-deleted-" + UUID.randomUUID());
    List<Principal> owners = List.of(device(t.id(), t.deviceA()), gone, device(t.id(), t.deviceB()));
    List<Supplier<Future<Uploaded>>> calls = new ArrayList<>();
    for (int i = 0; i < owners.size(); i++) {
      calls.add(upload(stack, files, owners.get(i), "mixed-" + i + ".txt", "body " + i, Priority.NORMAL));
    }
    long inserts = files.insertStatements();
    List<Future<Uploaded>> answers = stack.onOneTurn(calls);
    joinAll(answers);

    assertThat(files.insertStatements()).as("the refused batch, then each row alone").isEqualTo(inserts + 1 + 3);
    assertThat(answers.get(0).succeeded()).as("%s", answers.get(0).cause()).isTrue();
    assertThat(answers.get(2).succeeded()).as("%s", answers.get(2).cause()).isTrue();
    assertThat(answers.get(1).failed()).isTrue();
    assertThat(((ClientException) answers.get(1).cause()).status()).as("as if alone: the device is gone").isEqualTo(401);
    assertThat(answers.get(0).result().file().deviceId()).isEqualTo(t.deviceA());
    assertThat(answers.get(2).result().file().deviceId()).isEqualTo(t.deviceB());
    assertThat(rowsOf(stack, t.id())).as("the two good uploads, nothing of the refused one").isEqualTo(2);
    assertThat(objects(stack, t.id())).containsExactlyInAnyOrder(answers.get(0).result().file().objectKey(),
        answers.get(2).result().file().objectKey());
  }

  @Test
  void commitsOfOneTurnShareAStatementAndAVanishedRowFailsAlone() throws Exception {
    TestStack stack = TestStack.get();
    TestStack.Tenant t = await(stack.newTenant());
    FileService files = stack.app.services().files();
    Principal a = device(t.id(), t.deviceA());
    Principal b = device(t.id(), t.deviceB());
    List<UUID> ids = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID());
    List<Principal> owners = List.of(a, b, a);
    for (int i = 0; i < ids.size(); i++) {
      await(FileStore.insertUploading(stack.app.services().pool(), new FileStore.NewUpload(ids.get(i), owners.get(i), "c" + i + ".bin",
          "c" + i + ".bin", null, "t/" + t.id() + "/files/" + ids.get(i), Priority.NORMAL.band())));
    }
    UUID vanished = UUID.randomUUID();
    long commits = files.commitStatements();
    List<Future<Uploaded>> answers = stack.onOneTurn(List.of(
        () -> files.commitUploaded(a, ids.get(0), Priority.URGENT, 10, "aa".repeat(32), null),
        () -> files.commitUploaded(b, ids.get(1), Priority.LOW, 20, null, null),
        () -> files.commitUploaded(a, vanished, Priority.NORMAL, 30, null, null),
        () -> files.commitUploaded(a, ids.get(2), Priority.NORMAL, 40, "bb".repeat(32), null),
        () -> files.commitUploaded(a, ids.get(2), Priority.NORMAL, 40, "bb".repeat(32), null)));
    joinAll(answers);

    assertThat(files.commitStatements()).as("five commits of one turn, one statement").isEqualTo(commits + 1);
    FileRecord first = answers.get(0).result().file();
    assertThat(first.id()).isEqualTo(ids.get(0));
    assertThat(first.status()).isEqualTo(FileStatus.UPLOADED);
    assertThat(first.size()).isEqualTo(10);
    assertThat(first.sha256()).isEqualTo("aa".repeat(32));
    assertThat(first.jobId()).isEqualTo(answers.get(0).result().jobId());
    assertThat(jobPriority(stack, first.jobId())).isEqualTo(Priority.URGENT.band());
    FileRecord second = answers.get(1).result().file();
    assertThat(second.deviceId()).isEqualTo(t.deviceB());
    assertThat(second.size()).isEqualTo(20);
    assertThat(second.sha256()).isNull();
    assertThat(jobPriority(stack, second.jobId())).isEqualTo(Priority.LOW.band());
    assertThat(answers.get(2).failed()).as("no row to commit").isTrue();
    assertThat(answers.get(2).cause()).isInstanceOf(ServerException.class);
    assertThat(answers.get(3).result().file().size()).isEqualTo(40);
    assertThat(answers.get(4).failed()).as("the same row committed twice in one turn: once").isTrue();
    assertThat(jobsOf(stack, ids.get(2))).as("one job for the file committed twice").isEqualTo(1);
  }

  private Supplier<Future<Uploaded>> upload(TestStack stack, FileService files, Principal owner, String name, String content,
      Priority priority) throws Exception {
    Path path = Files.writeString(dir.resolve(UUID.randomUUID() + ".body"), content, StandardCharsets.UTF_8);
    AsyncFile body = await(stack.vertx.fileSystem().open(path.toString(), new OpenOptions().setRead(true)));
    body.pause();
    UploadCommand cmd = new UploadCommand(owner, name, "application/octet-stream", (long) content.length(), null, priority,
        "batch-test");
    return () -> files.upload(cmd, body);
  }

  private static Principal device(String tenantId, String deviceId) {
    return new Principal(Principal.Kind.DEVICE, tenantId, deviceId, Set.of(), "token-" + deviceId);
  }

  private static int jobPriority(TestStack stack, UUID jobId) throws Exception {
    return await(stack.app.services().pool().preparedQuery("SELECT priority FROM ingest_jobs WHERE id = $1").execute(Tuple.of(jobId)))
        .iterator().next().getInteger("priority");
  }

  private static long jobsOf(TestStack stack, UUID fileId) throws Exception {
    return await(stack.app.services().pool().preparedQuery("SELECT count(*) AS n FROM ingest_jobs WHERE file_id = $1")
        .execute(Tuple.of(fileId))).iterator().next().getLong("n");
  }

  private static long rowsOf(TestStack stack, String tenantId) throws Exception {
    return await(stack.app.services().pool().preparedQuery("SELECT count(*) AS n FROM files WHERE tenant_id = $1")
        .execute(Tuple.of(tenantId))).iterator().next().getLong("n");
  }

  /** The tenant's stored objects (the filesystem store behind s3proxy also lists its directories, ending in '/'). */
  private static List<String> objects(TestStack stack, String tenantId) throws Exception {
    return await(stack.objectKeys(tenantId)).stream().filter(k -> !k.endsWith("/")).toList();
  }

  private static String sha256(String content) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8)));
  }

  private static <T> void joinAll(List<Future<T>> answers) throws Exception {
    Future.join(new ArrayList<>(answers)).otherwiseEmpty().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
