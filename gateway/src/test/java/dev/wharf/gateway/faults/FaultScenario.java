package dev.wharf.gateway.faults;

import static dev.wharf.gateway.faults.FaultStack.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.gateway.TestStack.Tenant;
import java.time.Duration;

/**
 * One fault scenario: devices load the gateway ({@link FaultLoad}), a fault is injected and healed
 * {@code cycles} times while they do, then every acknowledged upload is checked (processed, whole), nothing may
 * stay {@code uploading} after the sweep nor any multipart upload stay open in S3, and the figures are printed and
 * recorded in the {@link FaultTable}.
 */
final class FaultScenario {

  /** A fault: injected, then healed (healing runs whatever happened). */
  interface Fault {
    void inject() throws Exception;

    void heal() throws Exception;
  }

  /** An action on a server that may fail. */
  interface Step {
    void run() throws Exception;
  }

  /**
   * A server stopped and started again. {@link #startIfDown} is for the test class's teardown: a scenario that
   * failed midway leaves the JVM's shared servers as it found them.
   */
  static final class Restart implements Fault {
    private final Step stop;
    private final Step start;
    private volatile boolean down;

    Restart(Step stop, Step start) {
      this.stop = stop;
      this.start = start;
    }

    @Override
    public void inject() throws Exception {
      down = true;
      stop.run();
    }

    @Override
    public void heal() throws Exception {
      startIfDown();
    }

    void startIfDown() throws Exception {
      if (down) {
        start.run();
        down = false;
      }
    }
  }

  private FaultScenario() {}

  /**
   * Runs the scenario. {@code outage}: the fault makes the dependency unavailable, so the load must meet it (some
   * 503s) before it is healed; otherwise (a flush) the load must go on being acknowledged through it.
   */
  static void run(FaultStack stack, String scenario, String faultName, int clients, int cycles, boolean outage, Fault fault)
      throws Exception {
    Tenant tenant = await(stack.base.newTenant());
    FaultLoad load = FaultLoad.start(stack.port, tenant, clients, scenario.hashCode(), Duration.ofMinutes(5));
    long faultMillis = 0;
    try {
      for (int c = 0; c < cycles; c++) {
        assertThat(load.awaitCount(load.acknowledged, load.acknowledged.get() + 2L * clients, Duration.ofSeconds(90)))
            .as("the load runs before fault %d", c + 1).isTrue();
        long honestBefore = load.honest.get();
        long ackBefore = load.acknowledged.get();
        long t0 = System.nanoTime();
        fault.inject();
        try {
          if (outage) {
            assertThat(load.awaitCount(load.honest, honestBefore + clients, Duration.ofSeconds(60)))
                .as("the load met the fault (503s) in cycle %d", c + 1).isTrue();
          } else {
            assertThat(load.awaitCount(load.acknowledged, ackBefore + 2L * clients, Duration.ofSeconds(60)))
                .as("the load went on through the fault in cycle %d", c + 1).isTrue();
          }
        } finally {
          fault.heal();
          faultMillis += (System.nanoTime() - t0) / 1_000_000;
        }
        assertThat(load.awaitCount(load.acknowledged, load.acknowledged.get() + 2L * clients, Duration.ofSeconds(90)))
            .as("uploads are acknowledged again after fault %d", c + 1).isTrue();
      }
    } finally {
      load.finish(Duration.ofMinutes(3));
    }
    long lost = load.verify(Duration.ofMinutes(3));
    String faults = faultName + (cycles > 1 ? " x " + cycles : "") + " (" + String.format(java.util.Locale.ROOT, "%.1f", faultMillis / 1000.0) + " s in all) -> "
        + load.honest.get() + " x 503 + Retry-After";
    load.report(scenario, faults, lost);
    // What a cut upload left behind is the sweeper's (every 500 ms here, 3 s stale window).
    var pool = stack.base.app.services().pool();
    await(stack.base.eventually(Duration.ofSeconds(60), () -> stack.base.openMultipartUploads(tenant.id())
        .compose(open -> pool.preparedQuery("SELECT count(*) AS n FROM files WHERE tenant_id = $1 AND status = 'uploading'")
            .execute(io.vertx.sqlclient.Tuple.of(tenant.id())).map(rows -> open == 0 && rows.iterator().next().getLong("n") == 0))));
  }
}
