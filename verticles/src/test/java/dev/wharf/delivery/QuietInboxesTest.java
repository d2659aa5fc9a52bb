package dev.wharf.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The memory of empty inboxes: the rules that need no clock. */
class QuietInboxesTest {

  private static QuietInboxes listening(int maxEntries) {
    QuietInboxes quiet = new QuietInboxes(Duration.ofMinutes(5), maxEntries);
    quiet.resume();
    return quiet;
  }

  @Test
  void nothingIsRememberedBeforeTheRelayFirstListens() {
    QuietInboxes quiet = new QuietInboxes(Duration.ofMinutes(5), 100);
    quiet.remember("t", "dev-a", quiet.generation());
    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
    assertThat(quiet.resume()).as("it stood down until now").isTrue();
    quiet.remember("t", "dev-a", quiet.generation());
    assertThat(quiet.isQuiet("t", "dev-a")).isTrue();
  }

  @Test
  void aStagingForgetsItsDeviceOnly() {
    QuietInboxes quiet = listening(100);
    quiet.remember("t", "dev-a", quiet.generation());
    quiet.remember("t", "dev-b", quiet.generation());
    quiet.remember("u", "dev-a", quiet.generation());

    quiet.forget("t", "dev-a");

    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
    assertThat(quiet.isQuiet("t", "dev-b")).isTrue();
    assertThat(quiet.isQuiet("u", "dev-a")).as("the same device id in another tenant is another inbox").isTrue();
  }

  @Test
  void aReadThatRanAcrossAStagingIsNotRemembered() {
    QuietInboxes quiet = listening(100);
    long readUnder = quiet.generation();
    // The staging commits and is announced while the inbox query runs (its snapshot may predate the commit).
    quiet.forget("t", "dev-a");
    quiet.remember("t", "dev-a", readUnder);
    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
  }

  @Test
  void whileNoticesCannotArriveNothingIsAnsweredOrKeptAndNothingFromBeforeSurvives() {
    QuietInboxes quiet = listening(100);
    quiet.remember("t", "dev-a", quiet.generation());
    long readInGap = quiet.generation();

    quiet.suspend();
    quiet.remember("t", "dev-b", quiet.generation());
    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
    assertThat(quiet.isQuiet("t", "dev-b")).isFalse();

    assertThat(quiet.resume()).isTrue();
    quiet.remember("t", "dev-c", readInGap);
    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
    assertThat(quiet.isQuiet("t", "dev-c")).as("read before the gap ended").isFalse();
    assertThat(quiet.size()).isZero();
  }

  @Test
  void aZeroTtlRemembersNothing() {
    QuietInboxes quiet = new QuietInboxes(Duration.ZERO, 100);
    quiet.resume();
    quiet.remember("t", "dev-a", quiet.generation());
    assertThat(quiet.enabled()).isFalse();
    assertThat(quiet.isQuiet("t", "dev-a")).isFalse();
  }

  @Test
  void aFullMemoryMakesRoomByForgetting() {
    QuietInboxes quiet = listening(3);
    for (int i = 0; i < 10; i++) {
      quiet.remember("t", "dev-" + i, quiet.generation());
      assertThat(quiet.size()).isLessThanOrEqualTo(3);
    }
    assertThat(quiet.isQuiet("t", "dev-9")).as("the newest is kept").isTrue();
  }
}
