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
  static volatile boolean down;

  @BeforeAll
  static void start() throws Exception {
    stack = FaultStack.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (down) {
      stack.base.servers.startPostgresAgain(); // a scenario that failed midway leaves the JVM's servers as it found them
    }
    if (stack != null) {
      stack.close();
    }
  }

  private static final FaultScenario.Fault RESTART = new FaultScenario.Fault() {
    @Override
    public void inject() throws Exception {
      down = true;
      stack.base.servers.stopPostgres();
    }

    @Override
    public void heal() throws Exception {
      if (down) {
        stack.base.servers.startPostgresAgain();
        down = false;
      }
    }
  };

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
