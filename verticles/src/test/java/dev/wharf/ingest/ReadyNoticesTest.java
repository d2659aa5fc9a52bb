package dev.wharf.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
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
  void concurrentRequestsAreEachFollowedByANotice(Vertx vertx, VertxTestContext ctx) throws InterruptedException {
    AtomicLong requested = new AtomicLong();
    List<Long> requestsSeenBySends = new CopyOnWriteArrayList<>();
    ReadyNotices notices = new ReadyNotices(vertx, () -> requestsSeenBySends.add(requested.get()));
    int threads = 4;
    int each = 20_000;
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread thread = new Thread(() -> {
        for (int i = 0; i < each; i++) {
          requested.incrementAndGet();
          notices.request();
        }
      });
      thread.start();
      started.add(thread);
    }
    for (Thread thread : started) {
      thread.join();
    }
    long total = (long) threads * each;
    // Some notice is sent after the last request was made, whichever thread made it.
    vertx.setPeriodic(1, id -> {
      if (requestsSeenBySends.contains(total)) {
        vertx.cancelTimer(id);
        ctx.verify(() -> assertThat(notices.sent()).as("coalesced").isLessThan(total / 10));
        ctx.completeNow();
      }
    });
  }
}
