package dev.wharf.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Ready notices are coalesced per window, and every request is followed by a notice sent after it. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
class ReadyNoticesTest {

  @Test
  void aBurstOnOneEventLoopIsOneNoticeNowAndOneAtTheWindowsEnd(Vertx vertx, VertxTestContext ctx) {
    List<String> sent = new CopyOnWriteArrayList<>();
    ReadyNotices notices = new ReadyNotices(vertx, () -> sent.add(Thread.currentThread().getName()));
    vertx.runOnContext(v -> {
      // The window's timer fires on this event loop, so it cannot end while this loop runs.
      for (int i = 0; i < 1_000; i++) {
        notices.request();
      }
      ctx.verify(() -> assertThat(sent).as("the first request's notice goes at once, the others wait").hasSize(1));
      vertx.setPeriodic(1, id -> {
        if (sent.size() >= 2) {
          vertx.cancelTimer(id);
          ctx.verify(() -> assertThat(notices.sent()).isEqualTo(2));
          // Nothing is pending now: a later request is answered by a notice of its own.
          notices.request();
          vertx.setPeriodic(1, again -> {
            if (sent.size() >= 3) {
              vertx.cancelTimer(again);
              ctx.completeNow();
            }
          });
        }
      });
    });
  }

  @Test
  void concurrentRequestsAreEachFollowedByANotice(Vertx vertx, VertxTestContext ctx) {
    AtomicLong requested = new AtomicLong();
    List<Long> requestsSeenBySends = new CopyOnWriteArrayList<>();
    ReadyNotices notices = new ReadyNotices(vertx, () -> requestsSeenBySends.add(requested.get()));
    int loops = 4;
    int each = 20_000;
    long total = (long) loops * each;
    // Four verticle instances, each on its own event loop as the queue's callers are, request at once.
    vertx.deployVerticle(() -> new VerticleBase() {
          @Override
          public Future<?> start() {
            for (int i = 0; i < each; i++) {
              requested.incrementAndGet();
              notices.request();
            }
            return Future.succeededFuture();
          }
        }, new DeploymentOptions().setInstances(loops))
        .onComplete(ctx.succeeding(deployed -> vertx.setPeriodic(1, id -> {
          // Some notice is sent after the last request was made, whichever event loop made it.
          if (requestsSeenBySends.contains(total)) {
            vertx.cancelTimer(id);
            ctx.verify(() -> assertThat(notices.sent()).as("coalesced").isLessThan(total / 10));
            ctx.completeNow();
          }
        })));
  }
}
