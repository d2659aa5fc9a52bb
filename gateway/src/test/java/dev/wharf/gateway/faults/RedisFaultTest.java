package dev.wharf.gateway.faults;

import static dev.wharf.gateway.faults.FaultStack.await;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Redis under load: its data flushed (FLUSHALL: the queue is rebuilt from PostgreSQL), its scripts flushed
 * (SCRIPT FLUSH: EVALSHA answers NOSCRIPT), and the server stopped and started again. None of them is an outage
 * for a device: uploads and polls go on being answered (a job that could not be scheduled is the reconciler's),
 * nothing acknowledged is lost, every acknowledged upload is verified once Redis is back.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class RedisFaultTest {

  static FaultStack stack;
  static final FaultScenario.Restart RESTART = new FaultScenario.Restart(
      () -> stack.base.servers.stopRedis(), () -> stack.base.servers.startRedisAgain());

  @BeforeAll
  static void start() throws Exception {
    stack = FaultStack.start();
  }

  @AfterAll
  static void stop() throws Exception {
    RESTART.startIfDown();
    if (stack != null) {
      stack.close();
    }
  }

  private static FaultScenario.Fault once(String... command) {
    return new FaultScenario.Fault() {
      @Override
      public void inject() throws Exception {
        var redis = stack.app.services().redis();
        await("FLUSHALL".equals(command[0]) ? redis.flushall(List.of()) : redis.script(List.of(command).subList(1, command.length)));
      }

      @Override
      public void heal() {
      }
    };
  }

  @Test
  void flushAllUnderLoad() throws Exception {
    FaultScenario.run(stack, "Redis FLUSHALL", "FLUSHALL", 4, 1, false, once("FLUSHALL"));
  }

  @Test
  void scriptFlushUnderLoad() throws Exception {
    FaultScenario.run(stack, "Redis SCRIPT FLUSH", "SCRIPT FLUSH", 4, 1, false, once("SCRIPT", "FLUSH"));
  }

  @Test
  void restartUnderLoad() throws Exception {
    FaultScenario.run(stack, "Redis restart", "Redis stopped, started", 4, 1, false, RESTART);
  }

  @Test
  @Tag("fault-long")
  void flushesUnderHeavierLoad() throws Exception {
    FaultScenario.run(stack, "Redis FLUSHALL + SCRIPT FLUSH (long)", "FLUSHALL, SCRIPT FLUSH", 8, 4, false,
        new FaultScenario.Fault() {
          int n;

          @Override
          public void inject() throws Exception {
            (n++ % 2 == 0 ? once("FLUSHALL") : once("SCRIPT", "FLUSH")).inject();
          }

          @Override
          public void heal() {
          }
        });
  }

  @Test
  @Tag("fault-long")
  void restartsUnderHeavierLoad() throws Exception {
    FaultScenario.run(stack, "Redis restarts (long)", "Redis stopped, started", 8, 3, false, RESTART);
  }
}
