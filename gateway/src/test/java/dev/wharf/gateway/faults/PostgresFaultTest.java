package dev.wharf.gateway.faults;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PostgreSQL stopped and started again while devices upload and poll and ingest runs: the devices see only 201 or
 * 503 with Retry-After, nothing acknowledged is lost, and everything settles once the database is back.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PostgresFaultTest {

  static FaultStack stack;
  static final FaultScenario.Restart RESTART = new FaultScenario.Restart(
      () -> stack.base.servers.stopPostgres(), () -> stack.base.servers.startPostgresAgain());

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

  @Test
  void restartUnderLoad() throws Exception {
    FaultScenario.run(stack, "PostgreSQL restart", "PostgreSQL stopped, started", 4, 1, true, RESTART);
  }

  @Test
  @Tag("fault-long")
  void restartsUnderHeavierLoad() throws Exception {
    FaultScenario.run(stack, "PostgreSQL restarts (long)", "PostgreSQL stopped, started", 8, 3, true, RESTART);
  }
}
