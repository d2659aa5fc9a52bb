package dev.wharf.gateway.faults;

import dev.wharf.devstack.FaultProxy;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * S3 misbehaving under load, through a {@link FaultProxy}: stalled (connected, not a byte answered; the gateway's
 * s3.call-timeout is 4 s here) and answering 503 / 500 to every request. Devices see only 201 or 503 with
 * Retry-After, nothing acknowledged is lost, everything is verified once storage is back.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class StorageFaultTest {

  static FaultStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = FaultStack.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  private static final FaultScenario.Fault STALL = new FaultScenario.Fault() {
    @Override
    public void inject() {
      stack.s3.stall();
    }

    @Override
    public void heal() {
      stack.s3.forward();
    }
  };

  /** Answers 503 on odd cycles and 500 on even ones. */
  private static FaultScenario.Fault errors() {
    return new FaultScenario.Fault() {
      int n;

      @Override
      public void inject() {
        stack.s3.fail(n++ % 2 == 0 ? 503 : 500);
      }

      @Override
      public void heal() {
        stack.s3.forward();
      }
    };
  }

  @Test
  void stallUnderLoad() throws Exception {
    FaultScenario.run(stack, "S3 stalled", "TCP proxy stops forwarding", 4, 1, true, STALL);
  }

  @Test
  void errorsUnderLoad() throws Exception {
    FaultScenario.run(stack, "S3 answering 5xx", "S3 answers 503, then 500", 4, 2, true, errors());
  }

  @Test
  @Tag("fault-long")
  void stallsUnderHeavierLoad() throws Exception {
    FaultScenario.run(stack, "S3 stalls (long)", "TCP proxy stops forwarding", 8, 3, true, STALL);
  }

  @Test
  @Tag("fault-long")
  void errorsUnderHeavierLoad() throws Exception {
    FaultScenario.run(stack, "S3 answering 5xx (long)", "S3 answers 503 / 500 alternately", 8, 4, true, errors());
  }
}
