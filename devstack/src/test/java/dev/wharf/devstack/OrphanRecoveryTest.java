package dev.wharf.devstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A JVM running the embedded servers (as {@code wharf dev} does) is killed with SIGKILL. Its servers do
 * not stay behind, and even when they do (its watchdog killed too), the next start on the same data folder
 * stops them and comes up.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class OrphanRecoveryTest {

  @Test
  void serversDieWithTheirKilledJvmAndTheFolderStartsAgain() throws Exception {
    Path dir = Files.createTempDirectory("wharf-orphans");
    long postgres;
    long redis;
    try (ServersProcess first = ServersProcess.start(dir)) {
      postgres = first.postgresPid();
      redis = first.redisPid();
      first.kill();
    }
    assertExits(postgres, "postgres");
    assertExits(redis, "redis");
    try (ServersProcess second = ServersProcess.start(dir)) {
      assertThat(second.postgresPid()).isNotEqualTo(postgres);
      assertThat(second.output).noneMatch(line -> line.contains("left running by a Wharf that died"));
    }
  }

  @Test
  void orphansOfAKilledJvmAreStoppedByTheNextStart() throws Exception {
    Path dir = Files.createTempDirectory("wharf-orphans");
    long postgres;
    long redis;
    try (ServersProcess first = ServersProcess.start(dir)) {
      postgres = first.postgresPid();
      redis = first.redisPid();
      first.killWatchdog();
      first.kill();
    }
    assertThat(alive(postgres)).as("postgres orphaned").isTrue();
    assertThat(alive(redis)).as("redis orphaned").isTrue();
    try (ServersProcess second = ServersProcess.start(dir)) {
      assertThat(second.output).filteredOn(line -> line.contains("left running by a Wharf that died")).hasSize(2);
      assertThat(alive(postgres)).isFalse();
      assertThat(alive(redis)).isFalse();
    }
  }

  @Test
  void aFolderInUseByALiveJvmIsRefused() throws Exception {
    Path dir = Files.createTempDirectory("wharf-orphans");
    try (ServersProcess first = ServersProcess.start(dir)) {
      long postgres = first.postgresPid();
      Throwable refused = null;
      try (EmbeddedServers second = EmbeddedServers.start(dir)) {
        // not reached
      } catch (Exception e) {
        refused = e;
      }
      assertThat(refused).hasMessageContaining("in use by a running Wharf (pid " + first.process.pid() + ")");
      assertThat(alive(postgres)).as("the running Wharf's postgres is left alone").isTrue();
    }
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private static void assertExits(long pid, String what) throws Exception {
    Optional<ProcessHandle> process = ProcessHandle.of(pid);
    if (process.isPresent()) {
      process.get().onExit().get(60, TimeUnit.SECONDS);
    }
    assertThat(alive(pid)).as(what + " stopped by the watchdog").isFalse();
  }
}
