package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.wharf.error.ServerException;
import dev.wharf.gateway.http.UploadSlots;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Load shedding: past the cap an upload is refused at once with 503 overloaded, and slots come back. */
class UploadSlotsTest {

  @Test
  void uploadPastTheCapIsShedAndTheSlotReturnsWhenOneEnds() {
    AtomicLong gauge = new AtomicLong();
    UploadSlots slots = new UploadSlots(2, gauge);
    Promise<String> first = Promise.promise();
    Promise<String> second = Promise.promise();
    Future<String> a = slots.run(first::future);
    Future<String> b = slots.run(second::future);
    Future<String> shed = slots.run(() -> Future.succeededFuture("never started"));
    assertThat(gauge.get()).isEqualTo(2);
    assertThat(shed.failed()).isTrue();
    assertThat(shed.cause()).isInstanceOf(ServerException.class);
    assertThat(((ServerException) shed.cause()).code()).isEqualTo("overloaded");
    assertThat(((ServerException) shed.cause()).retryAfterSeconds()).isPositive();

    first.fail(new IllegalStateException("client went away"));
    assertThat(a.failed()).isTrue();
    assertThat(gauge.get()).isEqualTo(1);
    assertThat(slots.run(() -> Future.succeededFuture("ok")).result()).isEqualTo("ok");
    second.complete("done");
    assertThat(b.result()).isEqualTo("done");
    assertThat(gauge.get()).isZero();
  }

  @Test
  void anUploadThatThrowsBeforeStartingFreesItsSlot() {
    AtomicLong gauge = new AtomicLong();
    UploadSlots slots = new UploadSlots(1, gauge);
    Future<String> thrown = slots.run(() -> {
      throw new IllegalArgumentException("bad header");
    });
    assertThat(thrown.failed()).isTrue();
    assertThat(gauge.get()).isZero();
  }
}
